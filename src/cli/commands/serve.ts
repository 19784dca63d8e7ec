import { DEFAULT_BATCHING } from '../../serve/batch-queue.js';
import { DEFAULT_LIMITS } from '../../serve/instances.js';
import { startServing } from '../../serve/serve.js';
import { DEFAULT_SERVER_OPTIONS } from '../../serve/server.js';
import { UsageError, numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';

export const SERVE_HELP = `esmm serve --model MODEL_DIR [--port 8501] [--host 127.0.0.1] [--name esmm]

Serves a model over HTTP with the TensorFlow Serving REST API:
  POST /v1/models/NAME:predict   {"instances": [{"205": [4015078], "109_14": [[600123, 1.94591]]}]}
       → {"predictions": [{"probabilities": pCTCVR, "ctr_probabilities": pCTR, "cvr_probabilities": pCVR}]}
  GET  /v1/models/NAME           version status        GET /v1/models/NAME/metadata   fields, kind
  GET  /healthz                  liveness              GET /metrics                   Prometheus metrics

MODEL_DIR is a model directory, or a base directory of numbered versions (MODEL_DIR/1, /2, ...;
the highest is served). New versions are picked up every --poll-seconds and on SIGHUP; one that
does not load is refused and the old one keeps serving. SIGTERM or SIGINT: stop accepting, answer
the requests in flight, exit 0 (a second signal ends the process at once).

  --port P                 port (default 8501; 0: any free port)
  --host H                 address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --name NAME              model name in the URLs (default esmm)
  --poll-seconds S         how often to look for a new version (default 5; 0: only on SIGHUP)
  --threads T              onnxruntime threads per session (default 1)
  --max-batch N            instances per dense call when requests are batched (default ${DEFAULT_BATCHING.maxBatchInstances})
  --batch-wait-ms MS       hold an idle queue this long to batch more requests (default 0)
  --max-instances N        instances per request (default ${DEFAULT_LIMITS.maxInstances})
  --max-ids-per-field N    entries per field of an instance (default ${DEFAULT_LIMITS.maxIdsPerField})
  --max-body-bytes N       request body size (default ${DEFAULT_SERVER_OPTIONS.maxBodyBytes})
  --request-timeout-ms MS  time to receive a whole request (default ${DEFAULT_SERVER_OPTIONS.requestTimeoutMs})
  --max-connections N      open connections (default ${DEFAULT_SERVER_OPTIONS.maxConnections})
  --grace-seconds S        on shutdown, cut connections still open after this long (default 10)
  -q, --quiet              no log lines (the listening line is still printed)
`;

export const SERVE_OPTIONS: Options = {
  model: { type: 'string', short: 'm' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  name: { type: 'string' },
  'poll-seconds': { type: 'string' },
  threads: { type: 'string' },
  'max-batch': { type: 'string' },
  'batch-wait-ms': { type: 'string' },
  'max-instances': { type: 'string' },
  'max-ids-per-field': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'max-connections': { type: 'string' },
  'grace-seconds': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export async function serveCommand(argv: string[]): Promise<void> {
  const cmd = 'serve';
  const v = parseCommand(cmd, argv, SERVE_OPTIONS);
  if (v.help) return void process.stdout.write(SERVE_HELP);
  const model = requireString(v, 'model', cmd);
  const name = optString(v, 'name') ?? 'esmm';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new UsageError(`--name must be 1-100 letters, digits, '.', '_' or '-', got '${name}'`, cmd);
  const int = (opt: string, dflt: number, min: number, max: number): number => numberOpt(v, opt, dflt, cmd, { min, max, integer: true });
  const quiet = v.quiet === true;
  const log = quiet ? () => {} : (line: string) => process.stderr.write(`${new Date().toISOString()} esmm serve: ${line}\n`);
  const graceMs = numberOpt(v, 'grace-seconds', 10, cmd, { min: 0, max: 3600 }) * 1000;

  const service = await startServing({
    model,
    port: int('port', 8501, 0, 65535),
    host: optString(v, 'host') ?? '127.0.0.1',
    modelName: name,
    pollMs: numberOpt(v, 'poll-seconds', 5, cmd, { min: 0, max: 86400 }) * 1000,
    maxBodyBytes: int('max-body-bytes', DEFAULT_SERVER_OPTIONS.maxBodyBytes, 1024, 1 << 30),
    requestTimeoutMs: int('request-timeout-ms', DEFAULT_SERVER_OPTIONS.requestTimeoutMs, 100, 3_600_000),
    maxConnections: int('max-connections', DEFAULT_SERVER_OPTIONS.maxConnections, 1, 1 << 20),
    predictor: {
      threads: int('threads', 1, 1, 256),
      limits: {
        maxInstances: int('max-instances', DEFAULT_LIMITS.maxInstances, 1, 1 << 20),
        maxIdsPerField: int('max-ids-per-field', DEFAULT_LIMITS.maxIdsPerField, 1, 1 << 24),
      },
      batching: {
        maxBatchInstances: int('max-batch', DEFAULT_BATCHING.maxBatchInstances, 1, 1 << 20),
        maxWaitMs: numberOpt(v, 'batch-wait-ms', DEFAULT_BATCHING.maxWaitMs, cmd, { min: 0, max: 1000 }),
      },
    },
    log,
  });
  const served = service.watcher.served;
  process.stdout.write(
    `serving model "${name}" version ${served.version} (${served.predictor.model.config.kind}, ${served.dir}) at ${service.url}/v1/models/${name}\n`,
  );

  await new Promise<void>((resolve) => {
    const reload = (): void => {
      log('SIGHUP: looking for a new version');
      void service.reload().then((r) => log(`reload: ${r}, serving version ${service.watcher.served.version}`));
    };
    const stop = (signal: string): void => {
      log(`${signal}: shutting down (answering requests in flight)`);
      process.off('SIGHUP', reload);
      service
        .shutdown(graceMs)
        .catch((e: unknown) => log(`shutdown: ${(e as Error).message}`))
        .finally(() => {
          log('stopped');
          resolve();
        });
    };
    process.on('SIGHUP', reload);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
