/**
 * A thin wrapper over an onnxruntime-node InferenceSession that speaks plain typed arrays.
 * Feeds are wrapped, not copied: ort.Tensor keeps a reference to the caller's typed array, so the
 * array must not change until run() has resolved.
 */
import ort from 'onnxruntime-node';

export interface HostTensor<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  data: T;
  dims: readonly number[];
}

export interface SessionOptions {
  /** Intra-op threads (default 2). */
  threads?: number;
  /**
   * Let idle intra-op threads spin-wait for the next op (onnxruntime's default; default here: false).
   * Spinning threads of one session steal the cores that the next session or the JavaScript thread
   * needs: a training run followed by a predict run of another session took 34 ms with spinning and
   * 18 ms without (2 cores, dense ESMM towers, batch 1024), while a run on its own did not change.
   */
  spin?: boolean;
}

export class OrtSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Graph input names, in order. */
    readonly inputNames: readonly string[],
    /** Graph output names, in order. */
    readonly outputNames: readonly string[],
  ) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<OrtSession> {
    const threads = opts.threads ?? 2;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: opts.spin ? '1' : '0' } } },
    });
    return new OrtSession(session, [...session.inputNames], [...session.outputNames]);
  }

  /** Runs the graph; fetches every output unless `fetch` names some. */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    fetch?: readonly string[],
  ): Promise<Record<string, HostTensor & { dims: number[] }>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const size = t.dims.reduce((a, d) => a * d, 1);
      if (t.data.length !== size)
        throw new Error(`feed '${name}': ${t.data.length} values for dims [${t.dims.join(', ')}] (${size} expected)`);
      ortFeeds[name] =
        t.data instanceof Float32Array ? new ort.Tensor('float32', t.data, t.dims) : new ort.Tensor('float64', t.data, t.dims);
    }
    const results = await this.session.run(ortFeeds, fetch ?? this.outputNames);
    const out: Record<string, HostTensor & { dims: number[] }> = {};
    for (const [name, value] of Object.entries(results)) {
      const data = value.data;
      if (!(data instanceof Float32Array || data instanceof Float64Array))
        throw new Error(`output '${name}' is ${value.type}; only float32/float64 outputs are supported`);
      out[name] = { data, dims: [...value.dims] };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
