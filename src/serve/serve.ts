/**
 * A running prediction service: the model watcher (versions, reloads), the HTTP server and the
 * metrics, wired together. `esmm serve` is this plus signal handling:
 *
 *   const service = await startServing({ model: 'models/esmm', port: 8501 });
 *   process.on('SIGHUP', () => void service.reload());
 *   process.on('SIGTERM', () => void service.shutdown().then(() => process.exit(0)));
 */
import { ServerMetrics } from './metrics.js';
import { ModelWatcher, type CheckResult } from './model-watcher.js';
import type { PredictorOptions } from './predictor.js';
import { PredictionServer, type ServerOptions } from './server.js';

export interface ServeOptions extends Partial<Omit<ServerOptions, 'log'>> {
  /** A model directory, or a base directory of numbered versions. */
  model: string;
  port?: number;
  host?: string;
  /** How often to look for a new version (0: only on reload()). */
  pollMs?: number;
  predictor?: PredictorOptions;
  log?: (line: string) => void;
}

export interface Service {
  /** http://host:port */
  url: string;
  port: number;
  watcher: ModelWatcher;
  server: PredictionServer;
  metrics: ServerMetrics;
  /** Looks for a new model version now (SIGHUP). */
  reload(): Promise<CheckResult>;
  /** Stops accepting, answers what is in flight, releases the models. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startServing(opts: ServeOptions): Promise<Service> {
  const log = opts.log ?? (() => {});
  const metrics = new ServerMetrics(opts.modelName ?? 'esmm');
  const predictor: PredictorOptions = {
    ...opts.predictor,
    onBatch: (n) => {
      metrics.batchInstances.observe(n);
      opts.predictor?.onBatch?.(n);
    },
  };
  const watcher = await ModelWatcher.open(opts.model, {
    predictor,
    log,
    onCheck: (result, version) => {
      if (result !== 'unchanged') metrics.reload(result === 'loaded', version);
    },
  });
  metrics.setVersion(watcher.served.version);
  const { model: _model, port = 8501, host = '127.0.0.1', pollMs = 5000, predictor: _p, log: _log, ...serverOpts } = opts;
  const server = new PredictionServer(watcher, metrics, { ...serverOpts, log });
  let address;
  try {
    address = await server.listen(port, host);
  } catch (e) {
    await watcher.close();
    throw new Error(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const timer = pollMs > 0 ? setInterval(() => void watcher.check(), pollMs) : null;
  timer?.unref();
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${shown}:${address.port}`,
    port: address.port,
    watcher,
    server,
    metrics,
    reload: () => watcher.check(),
    shutdown: (graceMs?: number) =>
      (stopping ??= (async () => {
        if (timer) clearInterval(timer);
        await server.close(graceMs);
        await watcher.close();
      })()),
  };
}
