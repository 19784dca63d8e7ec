/**
 * Request bodies: read with a size limit, decoded as strict UTF-8, checked for nesting depth, and
 * only then handed to JSON.parse.
 *
 * The depth check matters: V8's JSON.parse copes with any depth but spends about 2.4 µs per level,
 * so a 2 MB body of '[' would hold the event loop (every other client) for seconds. A prediction
 * request needs 5 levels ({"instances": [{"f": [[id, value]]}]}); one linear byte scan refuses
 * anything deeper than the limit first.
 */
import type { IncomingMessage } from 'node:http';

/** A body that cannot be used: answered with a 400 and this message. */
export class BodyError extends Error {
  constructor(
    message: string,
    /** The rest of the body was not read: the connection must close after the answer. */
    readonly unread: boolean = false,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/**
 * The connection ended before the body was complete (the client closed or reset it, or the server
 * cut it for a timeout or bad HTTP): there is nobody left to answer.
 */
export class ClientGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClientGoneError';
  }
}

/**
 * The whole body; a BodyError as soon as it is known to exceed `limit` bytes; a ClientGoneError
 * when the connection ends first (every error of the request stream is its connection failing).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      reject(new BodyError(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`, true));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new BodyError(`request body exceeds the limit of ${limit} bytes`, true));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // A connection that ends mid-body shows here as an 'error' (ECONNRESET "aborted") and then a
    // 'close'; a 'close' alone (the request destroyed without an error) means the same.
    const onError = (e: Error): void => {
      cleanup();
      reject(new ClientGoneError(`connection failed before the body was complete: ${e.message}`, { cause: e }));
    };
    const onClose = (): void => {
      cleanup();
      reject(new ClientGoneError('client closed the connection before the body was complete'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The parsed JSON of a body, or a BodyError saying what is wrong with it. */
export function parseJsonBody(body: Uint8Array, maxDepth: number): unknown {
  if (body.length === 0) throw new BodyError('empty request body; send a JSON object like {"instances": [...]}');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyError('request body is not valid UTF-8');
  }
  const depth = nestingBeyond(body, maxDepth);
  if (depth >= 0) throw new BodyError(`invalid JSON: nested deeper than ${maxDepth} levels (at byte ${depth})`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BodyError(`invalid JSON: ${(e as Error).message}`);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/** Byte offset where JSON text first nests deeper than `maxDepth` ([ and { outside strings), or -1. */
export function nestingBeyond(bytes: Uint8Array, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return i;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return -1;
}
