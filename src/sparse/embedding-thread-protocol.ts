/** The messages between EmbeddingThread and its worker (embedding-thread-worker.ts), and their table queue. */
import type { SharedFeatureBatch } from '../data/batch/shared-batch.js';
import type { FeatureSpec } from '../features/spec-types.js';
import type { PoolMode } from './embedding-collection.js';
import type { TableMemory } from './embedding-table.js';
import type { OptimizerHyper } from '../optim/kernels.js';
import type { SlotsMemory } from './row-sparse-optimizer.js';

export type WorkerCommand =
  | { op: 'attach'; seq: number; spec: FeatureSpec; tables: TableMemory[] }
  | {
      op: 'forward';
      seq: number;
      batch: SharedFeatureBatch;
      mode: PoolMode;
      out: SharedArrayBuffer;
      outLength: number;
      /** Int32Array [next, table order...]: take tables with takeTable until it gives -1. */
      queue: SharedArrayBuffer;
    }
  | {
      op: 'backward';
      seq: number;
      batch: SharedFeatureBatch;
      gradX: SharedArrayBuffer;
      gradXLength: number;
      queue: SharedArrayBuffer;
      /** The optimizer's global step (1-based) and hyper-parameters. */
      step: number;
      hyper: OptimizerHyper;
      /** Per table, its optimizer state, when they changed since the last backward. */
      states?: SlotsMemory[];
    };

export interface WorkerReply {
  seq: number;
  error?: { name: string; message: string };
}

/**
 * The next table of the queue [next, order...] that no thread has taken yet, or -1 when all are
 * taken: the atomic add hands each table to exactly one thread.
 */
export function takeTable(queue: Int32Array): number {
  const i = Atomics.add(queue, 0, 1);
  return i < queue.length - 1 ? queue[i + 1]! : -1;
}
