/**
 * Server metrics in the Prometheus text exposition format (version 0.0.4), written by hand:
 * request counts by route and status code, request latency, instances per request and per dense
 * call, the served model version, reloads, in-flight requests and process memory.
 *
 * Routes are a fixed set of names (never the raw path), so label cardinality stays bounded
 * whatever clients send.
 */

export type Route = 'predict' | 'status' | 'metadata' | 'healthz' | 'metrics' | 'unknown' | 'bad_http';

/** Latency buckets (seconds): fine below 5 ms, where the serving target is. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** A cumulative histogram with fixed upper bounds. */
export class Histogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Exposition lines for `name` with extra labels (`route="predict"` or ''). */
  lines(name: string, labels: string): string[] {
    const sep = labels ? ',' : '';
    const out: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((b, i) => {
      cumulative += this.counts[i]!;
      out.push(`${name}_bucket{${labels}${sep}le="${b}"} ${cumulative}`);
    });
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    const braces = labels ? `{${labels}}` : '';
    out.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`);
    return out;
  }
}

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<Route, Histogram>();
  readonly requestInstances = new Histogram(SIZE_BUCKETS);
  readonly batchInstances = new Histogram(SIZE_BUCKETS);
  private readonly reloads = { success: 0, failure: 0 };
  private modelVersion = 0;
  private inflight = 0;
  private readonly started = Date.now();

  constructor(readonly modelName: string) {}

  /** A finished request: its route, status code and duration. */
  request(route: Route, code: number, seconds: number): void {
    const key = `${route}|${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = new Histogram(LATENCY_BUCKETS)));
    h.observe(seconds);
  }

  begin(): void {
    this.inflight++;
  }

  end(): void {
    this.inflight--;
  }

  /** Count of finished requests with this route and code (tests, logs). */
  count(route: Route, code: number): number {
    return this.requests.get(`${route}|${code}`) ?? 0;
  }

  reload(ok: boolean, version?: number): void {
    if (ok) this.reloads.success++;
    else this.reloads.failure++;
    if (ok && version !== undefined) this.modelVersion = version;
  }

  setVersion(version: number): void {
    this.modelVersion = version;
  }

  render(): string {
    const model = `model="${escapeLabel(this.modelName)}"`;
    const lines: string[] = [];
    const family = (name: string, type: string, help: string): void => void lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family('esmm_requests_total', 'counter', 'HTTP requests by route and status code.');
    for (const [key, n] of [...this.requests].sort()) {
      const [route, code] = key.split('|');
      lines.push(`esmm_requests_total{route="${route}",code="${code}"} ${n}`);
    }
    family('esmm_request_duration_seconds', 'histogram', 'Time from the request to the end of the response, by route.');
    for (const [route, h] of [...this.latency].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(...h.lines('esmm_request_duration_seconds', `route="${route}"`));
    }
    family('esmm_request_instances', 'histogram', 'Instances per predict request.');
    lines.push(...this.requestInstances.lines('esmm_request_instances', ''));
    family('esmm_batch_instances', 'histogram', 'Instances per dense call (requests batched together).');
    lines.push(...this.batchInstances.lines('esmm_batch_instances', ''));
    family('esmm_model_version', 'gauge', 'Version of the model being served.');
    lines.push(`esmm_model_version{${model}} ${this.modelVersion}`);
    family('esmm_model_reloads_total', 'counter', 'Attempts to load a new model version, by result.');
    lines.push(`esmm_model_reloads_total{result="success"} ${this.reloads.success}`, `esmm_model_reloads_total{result="failure"} ${this.reloads.failure}`);
    family('esmm_inflight_requests', 'gauge', 'Requests being received or answered.');
    lines.push(`esmm_inflight_requests ${this.inflight}`);
    const mem = process.memoryUsage();
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    lines.push(`process_resident_memory_bytes ${mem.rss}`);
    family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, bytes.');
    lines.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    family('process_uptime_seconds', 'gauge', 'Seconds since the server started.');
    lines.push(`process_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return lines.join('\n') + '\n';
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
