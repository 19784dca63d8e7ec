/**
 * The HTTP server, following the TensorFlow Serving REST API:
 *
 *   POST /v1/models/{name}[/versions/{v}]:predict   {"instances": [...]}  →
 *        {"predictions": [{"probabilities": pCTCVR, "ctr_probabilities": pCTR, "cvr_probabilities": pCVR}, ...]}
 *   GET  /v1/models/{name}[/versions/{v}]           version status
 *   GET  /v1/models/{name}[/versions/{v}]/metadata  kind, fields, input format
 *   GET  /healthz                                   200 while serving, 503 while shutting down
 *   GET  /metrics                                   Prometheus text format
 *
 * ("probabilities" is pCTCVR, as in the ESMM estimator's export: prop = ctr × cvr.)
 * Every bad request gets a 4xx with {"error": "..."} that says what is wrong: only a BodyError or
 * an InstanceError is the client's fault. Any other exception while reading, parsing or predicting
 * is a bug (or onnxruntime failing) and gets a 500, counted in /metrics; a client that leaves
 * before its body is complete is counted as 499. Responses carry the model version that answered
 * them (X-Model-Version).
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Predictions } from '../models/cvr-model.js';
import { InstanceError, type InstanceRows } from './instances.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelWatcher } from './model-watcher.js';
import type { Predictor } from './predictor.js';
import { BodyError, ClientGoneError, parseJsonBody, readBody } from './request-body.js';

export interface ServerOptions {
  /** The {name} in the URLs. */
  modelName: string;
  maxBodyBytes: number;
  /** Deepest JSON nesting accepted (a request needs 5). */
  maxJsonDepth: number;
  /** Time to receive a whole request, headers and body; slower clients get a 408. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once (memory: at most this × maxBodyBytes of bodies). */
  maxConnections: number;
  log: (line: string) => void;
}

export const DEFAULT_SERVER_OPTIONS: Readonly<Omit<ServerOptions, 'log'>> = {
  modelName: 'esmm',
  maxBodyBytes: 8 << 20,
  maxJsonDepth: 32,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

type Match =
  | { route: 'predict' | 'status' | 'metadata'; name: string; version: number | null }
  | { route: 'healthz' | 'metrics' | 'unknown' };

const MODEL_PATH = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d{1,15}))?(:predict|\/metadata)?$/;

export class PredictionServer {
  private readonly server: Server;
  private readonly opts: ServerOptions;
  private closing = false;
  /** Sockets whose current answer is written: a parse error there must not add a second one. */
  private readonly answered = new WeakSet<Socket>();

  constructor(
    private readonly watcher: ModelWatcher,
    readonly metrics: ServerMetrics,
    opts: Partial<ServerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SERVER_OPTIONS, log: () => {}, ...opts };
    this.server = createServer({
      requestTimeout: this.opts.requestTimeoutMs,
      headersTimeout: Math.min(this.opts.headersTimeoutMs, this.opts.requestTimeoutMs),
      keepAliveTimeout: this.opts.keepAliveTimeoutMs,
      // How often the timeouts above are enforced (Node's default, 30 s, would let them slip).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, this.opts.requestTimeoutMs / 4)),
    });
    this.server.maxConnections = this.opts.maxConnections;
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Graceful stop: no new connections, idle keep-alive connections closed, requests in flight
   * (even half-received ones) answered; after `graceMs` the remaining connections are cut.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const match = this.match(req.url ?? '');
    const socket = req.socket;
    res.once('close', () => this.answered.delete(socket));
    this.metrics.begin();
    let code = 500;
    try {
      code = await this.respond(match, req, res);
    } catch (e) {
      // Only a bug gets here: every client mistake is answered inside respond().
      this.opts.log(`internal error on ${req.method} ${String(req.url).slice(0, 200)}: ${(e as Error).stack ?? String(e)}`);
      code = this.sendError(res, 500, `internal error: ${(e as Error).message}`);
    } finally {
      this.metrics.end();
      this.metrics.request(match.route, code, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async respond(match: Match, req: IncomingMessage, res: ServerResponse): Promise<number> {
    switch (match.route) {
      case 'healthz':
        if (!this.allow(req, res, 'GET')) return 405;
        return this.closing
          ? this.sendJson(res, 503, { status: 'shutting down' })
          : this.sendJson(res, 200, { status: 'ok', model: this.opts.modelName, version: this.watcher.served.version });
      case 'metrics':
        if (!this.allow(req, res, 'GET')) return 405;
        return this.send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', this.metrics.render());
      case 'unknown':
        return this.sendError(res, 404, `no such endpoint: ${req.method} ${truncate(req.url ?? '', 100)}; see /v1/models/${this.opts.modelName}:predict`);
      case 'status':
      case 'metadata':
      case 'predict': {
        if (!this.allow(req, res, match.route === 'predict' ? 'POST' : 'GET')) return 405;
        const missing = this.servableMissing(match);
        if (missing) return this.sendError(res, 404, missing);
        switch (match.route) {
          case 'status':
            return this.sendJson(res, 200, this.status());
          case 'metadata':
            return this.sendJson(res, 200, this.metadata());
          case 'predict':
            return this.predict(req, res, match.version);
        }
      }
    }
  }

  /**
   * `version`: the one the URL asks for (null: the latest). Exceptions other than the client's
   * mistakes (BodyError, InstanceError) and its leaving (ClientGoneError) go on to handle(): 500.
   */
  private async predict(req: IncomingMessage, res: ServerResponse, version: number | null): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = await this.receiveBody(req);
    } catch (e) {
      return this.unreadBody(e, req, res);
    }
    const lease = this.watcher.acquire();
    try {
      // A version swapped in while the body arrived is not the one this URL asked for.
      if (version !== null && version !== lease.served.version) {
        return this.sendError(res, 404, `Servable not found for request: Specific(${this.opts.modelName}, ${version}); version ${lease.served.version} is served`);
      }
      const predictor = lease.served.predictor;
      let rows: InstanceRows;
      try {
        rows = this.instanceRows(predictor, bytes);
      } catch (e) {
        if (isInputError(e)) return this.sendError(res, 400, e.message);
        throw e;
      }
      this.metrics.requestInstances.observe(rows.count);
      const p = await predictor.predictRows(rows);
      res.setHeader('X-Model-Version', String(lease.served.version));
      return this.send(res, 200, 'application/json', predictionsJson(p));
    } finally {
      lease.release();
    }
  }

  /** The request body's bytes (its own method so that tests can make reading fail). */
  protected receiveBody(req: IncomingMessage): Promise<Uint8Array> {
    return readBody(req, this.opts.maxBodyBytes);
  }

  /** The request body as JSON (its own method so that tests can make parsing fail). */
  protected parseBody(bytes: Uint8Array): unknown {
    return parseJsonBody(bytes, this.opts.maxJsonDepth);
  }

  /** The rows of a predict body; a BodyError or an InstanceError says what the client got wrong. */
  private instanceRows(predictor: Predictor, bytes: Uint8Array): InstanceRows {
    // The plain body straight from its bytes; anything else (and every input error) the general way.
    const plain = predictor.parser.parseJson(bytes);
    if (plain) return plain;
    const body = this.parseBody(bytes);
    const problem = requestShapeProblem(body);
    if (problem) throw new BodyError(problem);
    return predictor.parse((body as { instances: unknown }).instances, 'instances');
  }

  /** The answer to a body that could not be read: a 400 if it was refused, none if the client left. */
  private unreadBody(e: unknown, req: IncomingMessage, res: ServerResponse): number {
    if (e instanceof ClientGoneError) {
      res.destroy();
      return 499;
    }
    if (!(e instanceof BodyError)) throw e;
    if (e.unread) {
      res.setHeader('Connection', 'close');
      lingerOnClose(req);
    }
    return this.sendError(res, 400, e.message);
  }

  private status(): unknown {
    const served = this.watcher.served;
    const list: unknown[] = [
      { version: String(served.version), state: this.closing ? 'UNLOADING' : 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    ];
    const failure = this.watcher.lastFailure;
    if (failure) list.push({ version: String(failure.version), state: 'END', status: { error_code: 'UNKNOWN', error_message: failure.message } });
    return { model_version_status: list };
  }

  private metadata(): unknown {
    const served = this.watcher.served;
    const model = served.predictor.model;
    const limits = served.predictor.parser.limits;
    return {
      model_spec: { name: this.opts.modelName, signature_name: 'serving_default', version: String(served.version) },
      metadata: {
        kind: model.config.kind,
        embedding_dim: model.config.spec.embeddingDim,
        fields: model.config.spec.fields.map((f) => ({ name: f.name, table: f.table, pooling: f.pooling, weighted: f.weighted })),
        instance_format: 'an object of field name → array of ids (integers or strings) or [id, value] pairs',
        outputs: { probabilities: 'pCTCVR', ctr_probabilities: 'pCTR', cvr_probabilities: 'pCVR' },
        limits: { max_instances: limits.maxInstances, max_ids_per_field: limits.maxIdsPerField, max_body_bytes: this.opts.maxBodyBytes },
      },
    };
  }

  private match(url: string): Match {
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    if (path === '/healthz') return { route: 'healthz' };
    if (path === '/metrics') return { route: 'metrics' };
    const m = MODEL_PATH.exec(path);
    if (!m) return { route: 'unknown' };
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      return { route: 'unknown' };
    }
    const version = m[2] === undefined ? null : Number(m[2]);
    const route = m[3] === ':predict' ? 'predict' : m[3] === '/metadata' ? 'metadata' : 'status';
    return { route, name, version };
  }

  private servableMissing(match: { name: string; version: number | null }): string | null {
    if (match.name !== this.opts.modelName) {
      return `Servable not found for request: Latest(${truncate(match.name, 100)}); this server serves model "${this.opts.modelName}"`;
    }
    const served = this.watcher.served.version;
    if (match.version !== null && match.version !== served) {
      return `Servable not found for request: Specific(${this.opts.modelName}, ${match.version}); version ${served} is served`;
    }
    return null;
  }

  private allow(req: IncomingMessage, res: ServerResponse, method: string): boolean {
    if (req.method === method) return true;
    res.setHeader('Allow', method);
    this.sendError(res, 405, `method ${req.method} not allowed here; use ${method}`);
    return false;
  }

  private sendError(res: ServerResponse, code: number, message: string): number {
    return this.sendJson(res, code, { error: message });
  }

  private sendJson(res: ServerResponse, code: number, value: unknown): number {
    return this.send(res, code, 'application/json', JSON.stringify(value));
  }

  private send(res: ServerResponse, code: number, type: string, body: string): number {
    if (res.headersSent || res.destroyed) return code;
    res.statusCode = code;
    // Shutting down: no connection outlives the answer it carries.
    if (this.closing) res.setHeader('Connection', 'close');
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (res.socket) this.answered.add(res.socket);
    res.end(body);
    return code;
  }

  /**
   * Bad HTTP (unparseable requests, oversized headers, timeouts): answered like Node's default
   * handler, and counted. When the bytes after a request are garbage (a body without a length),
   * that request's answer goes out and the connection closes, with no second answer after it.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    this.metrics.request('bad_http', code, 0);
    if (this.answered.has(socket)) {
      socket.end();
      return;
    }
    socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
}

/** How long a connection closed on an unread body keeps discarding what the client still sends. */
const LINGER_MS = 2000;

/**
 * A lingering close for a request whose body was not read (too large): after the answer the
 * connection is half-closed, and what the client still sends is read and dropped until it closes
 * (or LINGER_MS). Closing at once with unread bytes would make the kernel reset the connection,
 * and a reset can discard the answer before the client reads it. Node closes a `Connection:
 * close` socket through destroySoon() once the answer is written; this socket's is replaced.
 */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
  };
  req.resume();
}

/** Whether `e` is the client's fault: a body or instances that cannot be used (a 400). */
function isInputError(e: unknown): e is BodyError | InstanceError {
  return e instanceof BodyError || e instanceof InstanceError;
}

/** What is wrong with the request object around the instances, or null. */
function requestShapeProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'the request body must be a JSON object like {"instances": [{"205": [4015078]}]}';
  }
  for (const key of Object.keys(body)) {
    if (key === 'instances') continue;
    if (key === 'signature_name') {
      const s = (body as Record<string, unknown>)[key];
      if (s !== 'serving_default') return `"signature_name" must be "serving_default" (the only signature), got ${JSON.stringify(s)}`;
      continue;
    }
    if (key === 'inputs') return 'the columnar "inputs" format is not supported; send rows as "instances"';
    return `unknown key ${JSON.stringify(truncate(key, 60))} in the request; expected "instances" (and optionally "signature_name")`;
  }
  if (!('instances' in body)) return 'the request has no "instances"; send {"instances": [{"205": [4015078]}]}';
  return null;
}

/** The TF Serving row-format answer, written directly (float32 values print exactly). */
function predictionsJson(p: Predictions): string {
  const parts: string[] = [];
  for (let i = 0; i < p.pctr.length; i++) {
    parts.push(`{"probabilities":${num(p.pctcvr[i]!)},"ctr_probabilities":${num(p.pctr[i]!)},"cvr_probabilities":${num(p.pcvr[i]!)}}`);
  }
  return `{"predictions":[${parts.join(',')}]}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
