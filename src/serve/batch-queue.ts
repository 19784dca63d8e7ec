/**
 * Micro-batching: instances of concurrent calls share one dense call.
 *
 * One dense call runs at a time (the model's pooling buffers are reused per call, and two
 * onnxruntime runs would only fight over the same cores). Calls that arrive while one runs wait
 * in the queue; when it finishes, everything waiting (up to `maxBatchInstances`) goes into the
 * next call. Under light load a call runs at once, alone, with no added wait; under heavy load
 * the per-call overhead is shared by many requests. `maxWaitMs` > 0 additionally holds the first
 * call of an idle queue back for that long to gather company (off by default: see README).
 */
import type { Predictions } from '../models/cvr-model.js';
import { concatRows, type InstanceRows } from './instances.js';

export interface BatchingOptions {
  /** A dense call takes waiting calls up to this many instances (one larger call runs alone). */
  maxBatchInstances: number;
  /** How long an idle queue waits for more calls before running (0: never waits). */
  maxWaitMs: number;
}

export const DEFAULT_BATCHING: Readonly<BatchingOptions> = { maxBatchInstances: 256, maxWaitMs: 0 };

interface Job {
  rows: InstanceRows;
  resolve: (p: Predictions) => void;
  reject: (e: unknown) => void;
}

export class BatchQueue {
  private readonly waiting: Job[] = [];
  private waitingInstances = 0;
  private running: Promise<void> | null = null;
  /** Called with the instance count of every dense call (metrics). */
  onBatch: ((instances: number) => void) | null = null;

  constructor(
    private readonly run: (rows: InstanceRows) => Promise<Predictions>,
    readonly options: BatchingOptions = DEFAULT_BATCHING,
  ) {
    if (!Number.isInteger(options.maxBatchInstances) || options.maxBatchInstances < 1) {
      throw new RangeError(`maxBatchInstances must be a positive integer (got ${options.maxBatchInstances})`);
    }
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0 (got ${options.maxWaitMs})`);
  }

  /** Predictions for `rows`, from a dense call that may include other calls' rows. */
  submit(rows: InstanceRows): Promise<Predictions> {
    return new Promise<Predictions>((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      this.waitingInstances += rows.count;
      this.running ??= this.drain();
    });
  }

  /** Resolves once no call is waiting or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      if (this.options.maxWaitMs > 0 && this.waitingInstances < this.options.maxBatchInstances) {
        await new Promise((r) => setTimeout(r, this.options.maxWaitMs));
      }
      while (this.waiting.length > 0) {
        const jobs = this.take();
        const rows = concatRows(jobs.map((j) => j.rows));
        try {
          this.onBatch?.(rows.count);
          const p = await this.run(rows);
          let start = 0;
          for (const job of jobs) {
            const end = start + job.rows.count;
            job.resolve({ pctr: p.pctr.subarray(start, end), pcvr: p.pcvr.subarray(start, end), pctcvr: p.pctcvr.subarray(start, end) });
            start = end;
          }
        } catch (e) {
          for (const job of jobs) job.reject(e);
        }
      }
    } finally {
      this.running = null;
    }
  }

  /** Waiting jobs in arrival order until the batch holds maxBatchInstances (at least one job). */
  private take(): Job[] {
    let n = 0;
    let instances = 0;
    while (n < this.waiting.length && (n === 0 || instances + this.waiting[n]!.rows.count <= this.options.maxBatchInstances)) {
      instances += this.waiting[n]!.rows.count;
      n++;
    }
    this.waitingInstances -= instances;
    return this.waiting.splice(0, n);
  }
}
