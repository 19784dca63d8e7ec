/**
 * Helpers for the serving tests: instances read straight from raw Ali-CCP files (independently of
 * the data readers, which is the point of comparing with `esmm predict`), and small HTTP clients.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';
import type { FeatureEntry, Instance } from './instances.js';

/**
 * One instance per skeleton line of `split`: its own entries and those of its common-features row,
 * grouped by field, as [id, value] pairs with the id text as it stands in the file (as a JSON
 * number for every other canonical decimal id, to cover both forms). Fields not in `fields` are
 * left out (the batch builder ignores them too).
 */
export function rawInstances(dataDir: string, split: string, fields: readonly string[]): { sampleIds: number[]; instances: Instance[] } {
  const known = new Set(fields);
  const common = new Map<string, string>();
  for (const line of lines(join(dataDir, `common_features_${split}.csv`))) {
    const [index, , list] = line.split(',');
    common.set(index!, list!);
  }
  const sampleIds: number[] = [];
  const instances: Instance[] = [];
  let toggle = 0;
  for (const line of lines(join(dataDir, `sample_skeleton_${split}.csv`))) {
    const [id, , , commonIndex, , list] = line.split(',');
    const instance: Record<string, FeatureEntry[]> = {};
    for (const part of [list!, common.get(commonIndex!) ?? '']) {
      if (part === '') continue;
      for (const entry of part.split('\x01')) {
        const [field, rest] = entry.split('\x02') as [string, string];
        const [idText, valueText] = rest.split('\x03') as [string, string];
        if (!known.has(field)) continue;
        const numeric = /^(0|[1-9]\d{0,14})$/.test(idText) && toggle++ % 2 === 0;
        (instance[field] ??= []).push([numeric ? Number(idText) : idText, Number(valueText)]);
      }
    }
    sampleIds.push(Number(id));
    instances.push(instance);
  }
  return { sampleIds, instances };
}

function lines(path: string): string[] {
  return readFileSync(path, 'latin1').split('\n').filter((l) => l.length > 0);
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on its own connection; `body` as given (any bytes). */
export function http(url: string, method: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function postJson(url: string, value: unknown): Promise<HttpResult> {
  return http(url, 'POST', JSON.stringify(value), { 'Content-Type': 'application/json' });
}

/** A raw TCP connection to the server of `url`, for requests HTTP clients refuse to send. */
export function rawSocket(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes (or `timeoutMs` passes). */
export function readAll(socket: Socket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', done);
    socket.on('error', () => {});
  });
}

/** `esmm serve` in a child process; resolves with its URL once it listens. */
export async function spawnServer(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const main = join(packageRoot(), buildDir(), 'cli', 'main.js');
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /at (http:\/\/[^/\s]+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`esmm serve exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr, exited };
}

/** The build folder this module runs from (dist, or a helper's .build-*). */
function buildDir(): string {
  const parts = new URL(import.meta.url).pathname.split('/');
  return parts[parts.length - 3]!;
}
