/**
 * The worker side of EmbeddingThread (embedding-thread.ts): it attaches the collection's tables
 * and the sparse optimizer's states (shared memory), then pools, back-propagates and updates the
 * tables it is given in each command, while the main thread does the others.
 */
import { parentPort } from 'node:worker_threads';
import { readSharedBatch } from '../data/batch/shared-batch.js';
import { EmbeddingCollection } from './embedding-collection.js';
import { EmbeddingTable } from './embedding-table.js';
import { TableSlots, applyRowUpdates } from './row-sparse-optimizer.js';
import { takeTable, type WorkerCommand, type WorkerReply } from './embedding-thread-protocol.js';

if (!parentPort) throw new Error('embedding-thread-worker.js runs as a worker thread (see EmbeddingThread)');
const port = parentPort;

let collection: EmbeddingCollection | null = null;
let states: TableSlots[] = [];

function attached(): EmbeddingCollection {
  if (!collection) throw new Error('embedding thread: a command came before the tables were attached');
  return collection;
}

function run(command: WorkerCommand): void {
  switch (command.op) {
    case 'attach': {
      const tables = command.tables.map((m) => EmbeddingTable.attach(m));
      collection = new EmbeddingCollection(command.spec, 0, undefined, tables);
      states = [];
      return;
    }
    case 'forward': {
      const c = attached();
      const out = new Float32Array(command.out, 0, command.outLength);
      const batch = readSharedBatch(command.batch);
      const queue = new Int32Array(command.queue);
      for (let t = takeTable(queue); t >= 0; t = takeTable(queue)) c.forward(batch, out, command.mode, t);
      return;
    }
    case 'backward': {
      const c = attached();
      if (command.states) {
        states = command.states.map((m, i) => new TableSlots(c.tables[i]!, m.initial, m));
      }
      const gradX = new Float32Array(command.gradX, 0, command.gradXLength);
      const batch = readSharedBatch(command.batch);
      const queue = new Int32Array(command.queue);
      for (let t = takeTable(queue); t >= 0; t = takeTable(queue)) {
        const state = states[t];
        if (!state) throw new Error(`embedding thread: no optimizer state was attached for table "${c.tables[t]!.name}"`);
        for (const g of c.backward(batch, gradX, t)) applyRowUpdates(command.hyper, command.step, state, g);
      }
      return;
    }
    default: {
      const never: never = command;
      throw new Error(`embedding thread: unknown command ${JSON.stringify(never)}`);
    }
  }
}

port.on('message', (command: WorkerCommand) => {
  let reply: WorkerReply;
  try {
    run(command);
    reply = { seq: command.seq };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    reply = { seq: command.seq, error: { name: error.name, message: error.message } };
  }
  port.postMessage(reply);
});
