/**
 * The sparse side of a training step on two threads. Pooling, the embedding backward and the
 * sparse optimizer are independent per table, and the tables and optimizer states live in shared
 * memory, so each step splits the tables between this thread and a worker: both pool their
 * tables' fields into one shared dense input, and both back-propagate and update their own tables.
 *
 * The tables are handed out through a shared queue, largest first by the batch's entries (a
 * table's cost follows them): each thread takes the next table when it is done with one, so the
 * two finish close together whatever a table costs, and whatever this thread does alongside (the
 * dense optimizer, during backward). Each table is worked on by one thread, in the same order of
 * entries as on one thread, so training gives bit-for-bit the same weights either way; only the
 * speed differs.
 *
 *   const thread = await EmbeddingThread.start(collection);
 *   try {
 *     const x = await thread.forward(batch);                 // = collection.forward(batch)
 *     const { gradX } = await net.trainStep(x, ...);
 *     await thread.backwardAndStep(batch, gradX, sparseOpt, () => denseOpt.step(...));
 *   } finally {
 *     await thread.close();
 *   }
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FeatureBatch } from '../data/batch/jagged-types.js';
import { SharedBatchWriter, type SharedFeatureBatch } from '../data/batch/shared-batch.js';
import type { EmbeddingCollection, PoolMode } from './embedding-collection.js';
import { takeTable, type WorkerCommand, type WorkerReply } from './embedding-thread-protocol.js';
import type { SlotsMemory, SparseOptimizer } from './row-sparse-optimizer.js';

/** Whether training and batch prediction use an EmbeddingThread when not told: with 2 or more cores. */
export function embeddingThreadByDefault(): boolean {
  return availableParallelism() >= 2;
}

type Pending = { seq: number; resolve: () => void; reject: (e: Error) => void };

export class EmbeddingThread {
  private readonly batches = new SharedBatchWriter();
  private shared: { batch: FeatureBatch; copy: SharedFeatureBatch } | null = null;
  private pooled = new Float32Array(new SharedArrayBuffer(4));
  /** onnxruntime-node refuses inputs in shared memory: forward's result is copied here. */
  private pooledCopy = new Float32Array(0);
  private gradX = new Float32Array(new SharedArrayBuffer(4));
  /** [next, table order...]: the queue both threads take tables from (see takeTable). */
  private readonly queue: Int32Array;
  private readonly cost: Float64Array;
  private readonly order: number[];
  private seq = 0;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private statesSent = -1;
  /** Milliseconds this thread spent waiting for the worker after its own share (bench:profile). */
  readonly waited = { forward: 0, backward: 0 };

  private constructor(
    readonly collection: EmbeddingCollection,
    private readonly worker: Worker,
  ) {
    const T = collection.tables.length;
    this.cost = new Float64Array(T);
    this.order = Array.from({ length: T }, (_, t) => t);
    this.queue = new Int32Array(new SharedArrayBuffer((T + 1) * 4));
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (e) => this.fail(new Error(`embedding thread failed: ${e.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`embedding thread exited (code ${code})`)));
  }

  /** Starts the worker and attaches the collection's tables there. */
  static async start(collection: EmbeddingCollection): Promise<EmbeddingThread> {
    const worker = new Worker(new URL('./embedding-thread-worker.js', import.meta.url));
    const thread = new EmbeddingThread(collection, worker);
    try {
      await thread.call({ op: 'attach', seq: 0, spec: collection.spec, tables: collection.tables.map((t) => t.memory()) });
    } catch (e) {
      await thread.close();
      throw e;
    }
    return thread;
  }

  /**
   * collection.forward(batch, undefined, mode) on both threads. The result is reused: valid
   * until the next forward.
   */
  async forward(batch: FeatureBatch, mode: PoolMode = 'train'): Promise<Float32Array> {
    const width = batch.size * this.collection.outputWidth;
    if (this.pooled.length < width) this.pooled = new Float32Array(new SharedArrayBuffer(Math.ceil(width * 1.25) * 4));
    const out = this.pooled.subarray(0, width);
    const copy = this.share(batch);
    this.fillQueue(batch);
    const done = this.call({
      op: 'forward',
      seq: 0,
      batch: copy,
      mode,
      out: out.buffer as SharedArrayBuffer,
      outLength: width,
      queue: this.queue.buffer as SharedArrayBuffer,
    });
    try {
      for (let t = takeTable(this.queue); t >= 0; t = takeTable(this.queue)) this.collection.forward(batch, out, mode, t);
    } finally {
      const t = performance.now();
      await done;
      this.waited.forward += performance.now() - t;
    }
    if (this.pooledCopy.length < width) this.pooledCopy = new Float32Array(this.pooled.length);
    const result = this.pooledCopy.subarray(0, width);
    result.set(out);
    return result;
  }

  /**
   * collection.backward(batch, gradX) and the optimizer's step over its gradients (nextStep
   * included) on both threads; `alongside` runs on this thread first. `batch` is the one last
   * given to forward or another.
   */
  async backwardAndStep(batch: FeatureBatch, gradX: Float32Array, opt: SparseOptimizer, alongside?: () => void): Promise<void> {
    const width = batch.size * this.collection.outputWidth;
    if (gradX.length !== width) throw new RangeError(`backward: gradX has ${gradX.length} values; expected batch size ${batch.size} x ${this.collection.outputWidth}`);
    if (this.gradX.length < width) this.gradX = new Float32Array(new SharedArrayBuffer(Math.ceil(width * 1.25) * 4));
    const sharedGrad = this.gradX.subarray(0, width);
    sharedGrad.set(gradX);
    const copy = this.share(batch);
    this.fillQueue(batch);
    opt.nextStep();
    const tables = this.collection.tables;
    // States are created here, on this thread, so that both threads see the same ones, and in
    // table order, as one thread stepping every table would.
    let states: SlotsMemory[] | undefined;
    if (opt.stateRevision !== this.statesSent) {
      states = tables.map((table) => opt.tableState(table).memory());
      this.statesSent = opt.stateRevision;
    }
    const done = this.call({
      op: 'backward',
      seq: 0,
      batch: copy,
      gradX: sharedGrad.buffer as SharedArrayBuffer,
      gradXLength: width,
      queue: this.queue.buffer as SharedArrayBuffer,
      step: opt.stepCount,
      hyper: { ...opt.hyper },
      ...(states ? { states } : {}),
    });
    try {
      alongside?.();
      for (let t = takeTable(this.queue); t >= 0; t = takeTable(this.queue)) {
        for (const g of this.collection.backward(batch, gradX, t)) opt.step(tables[g.table]!, g);
      }
    } finally {
      const t = performance.now();
      await done;
      this.waited.backward += performance.now() - t;
    }
  }

  async close(): Promise<void> {
    this.fail(new Error('embedding thread: closed'));
    await this.worker.terminate();
  }

  /** The batch's shared copy, written once for its forward and backward. */
  private share(batch: FeatureBatch): SharedFeatureBatch {
    if (this.shared?.batch !== batch) this.shared = { batch, copy: this.batches.write(batch) };
    return this.shared.copy;
  }

  /** Queues every table, largest first by this batch's entries, for takeTable. */
  private fillQueue(batch: FeatureBatch): void {
    const { cost, order, queue } = this;
    const { fieldTable } = this.collection;
    cost.fill(0);
    const B = batch.size;
    const G = batch.groups.numRows;
    const sOff = batch.samples.offsets;
    const gOff = batch.groups.offsets;
    for (let f = 0; f < fieldTable.length; f++) {
      const entries = sOff[(f + 1) * B]! - sOff[f * B]! + (G > 0 ? gOff[(f + 1) * G]! - gOff[f * G]! : 0);
      // Every sample writes (or reads) its pooled row of the field: count it as one entry.
      // fieldTable holds a table index for each field, and cost has one slot per table.
      const table = fieldTable[f]!;
      cost[table] = cost[table]! + (entries + B);
    }
    order.sort((a, b) => cost[b]! - cost[a]! || a - b);
    order.forEach((t, i) => (queue[i + 1] = t));
    Atomics.store(queue, 0, 0);
  }

  /** Sends a command; resolves when the worker has done it. One command at a time. */
  private call(command: WorkerCommand): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('embedding thread: a command is still running'));
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending = { seq, resolve, reject };
      this.worker.ref();
      this.worker.postMessage({ ...command, seq });
    });
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending;
    if (!p || p.seq !== reply.seq) return;
    this.pending = null;
    this.worker.unref();
    if (reply.error) {
      const e = reply.error.name === 'RangeError' ? new RangeError(reply.error.message) : new Error(reply.error.message);
      p.reject(e);
    } else {
      p.resolve();
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }
}
