/**
 * Opens a page in headless Chromium (Debian's `chromium`) and reports what a person would see:
 * console errors, uncaught exceptions and failed loads, the size and content of every
 * <svg data-plot> chart, and optionally a PNG screenshot of each chart.
 *
 * It speaks the DevTools protocol over --remote-debugging-pipe (file descriptors 3 and 4,
 * NUL-separated JSON): no WebSocket, no dependency, no network port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** The Chromium to use: $ESMM_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH. */
export function findChromium(): string | null {
  const env = process.env.ESMM_CHROMIUM;
  if (env) return existsSync(env) ? env : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = join(dir, name);
      if (dir && existsSync(p)) return p;
    }
  return null;
}

export interface PlotBox {
  id: string;
  /** CSS pixels, in page coordinates. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Drawn marks inside: polylines, bars, dots. */
  marks: number;
}

export interface PageReport {
  title: string;
  /** Console errors, uncaught exceptions and failed loads, as text. */
  errors: string[];
  plots: PlotBox[];
  /** PNG bytes per plot id (only when screenshots were asked for). */
  screenshots: Map<string, Buffer>;
}

export interface InspectOptions {
  chromium?: string;
  /** Take a PNG of every plot (device scale 2). */
  screenshots?: boolean;
  /** Viewport width in CSS pixels (default 1200). */
  width?: number;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--hide-scrollbars',
  '--mute-audio',
  '--remote-debugging-pipe',
];

type Json = Record<string, unknown>;

/** A DevTools protocol connection over the pipe: commands by id, events to a listener. */
class PipeConnection {
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve: (r: Json) => void; reject: (e: Error) => void; method: string }>();

  constructor(
    private readonly input: Writable,
    output: Readable,
    private readonly onEvent: (method: string, params: Json, sessionId?: string) => void,
  ) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.receive(chunk));
    // A browser that died closes the pipe: the exit handler reports why; the write error adds nothing.
    input.on('error', (e) => this.failAll(e));
    output.on('error', (e) => this.failAll(e));
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolvePromise, reject) => {
      this.pending.set(id, { resolve: resolvePromise, reject, method });
      this.input.write(message + '\0');
    });
  }

  failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\0')) >= 0) {
      const text = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      const msg = JSON.parse(text) as { id?: number; method?: string; params?: Json; result?: Json; error?: { message: string }; sessionId?: string };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else if (msg.method) this.onEvent(msg.method, msg.params ?? {}, msg.sessionId);
    }
  }
}

/** Loads `htmlPath` (a local file) and reports on it. */
export async function inspectPage(htmlPath: string, opts: InspectOptions = {}): Promise<PageReport> {
  const chromium = opts.chromium ?? findChromium();
  if (!chromium) throw new Error('no Chromium found: install it (Debian: apt-get install chromium) or set ESMM_CHROMIUM to its path');
  if (!existsSync(chromium)) throw new Error(`could not start ${chromium}: no such file`);
  const profile = mkdtempSync(join(tmpdir(), 'esmm-chromium-'));
  const child = spawn(chromium, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const errors: string[] = [];
  let loaded: (() => void) | null = null;
  const conn = new PipeConnection(child.stdio[3] as Writable, child.stdio[4] as Readable, (method, params) => {
    const error = describeError(method, params);
    if (error) errors.push(error);
    if (method === 'Page.loadEventFired') loaded?.();
  });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Chromium did not finish with ${htmlPath} within ${timeoutMs / 1000} s`)), timeoutMs);
    child.on('error', (e) => reject(new Error(`could not start ${chromium}: ${e.message}`)));
    child.on('exit', (code, signal) => reject(new Error(`${chromium} exited (${signal ?? code}) before the page was inspected: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  failure.catch((e: Error) => conn.failAll(e));
  try {
    return await Promise.race([failure, inspect(conn, htmlPath, opts, errors, (f) => (loaded = f))]);
  } finally {
    clearTimeout(timer);
    await stop(child);
    rmSync(profile, { recursive: true, force: true });
  }
}

async function inspect(conn: PipeConnection, htmlPath: string, opts: InspectOptions, errors: string[], onLoad: (f: () => void) => void): Promise<PageReport> {
  const { targetId } = (await conn.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
  const { sessionId } = (await conn.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
  const send = (method: string, params: Json = {}) => conn.send(method, params, sessionId);
  await send('Page.enable');
  await send('Runtime.enable');
  await send('Log.enable');
  await send('Emulation.setDeviceMetricsOverride', { width: opts.width ?? 1200, height: 900, deviceScaleFactor: 1, mobile: false });
  const load = new Promise<void>((r) => onLoad(r));
  await send('Page.navigate', { url: pathToFileURL(resolve(htmlPath)).href });
  await load;
  const expression = `JSON.stringify({
    title: document.title,
    plots: [...document.querySelectorAll('svg[data-plot]')].map((svg) => {
      const r = svg.getBoundingClientRect();
      return { id: svg.dataset.plot, x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height,
               marks: svg.querySelectorAll('polyline, rect.bar, circle').length };
    }),
  })`;
  const evaluated = (await send('Runtime.evaluate', { expression, returnByValue: true })) as { result: { value: string } };
  const page = JSON.parse(evaluated.result.value) as { title: string; plots: PlotBox[] };
  const screenshots = new Map<string, Buffer>();
  if (opts.screenshots)
    for (const p of page.plots) {
      const clip = { x: p.x, y: p.y, width: p.width, height: p.height, scale: 2 };
      const shot = (await send('Page.captureScreenshot', { format: 'png', clip, captureBeyondViewport: true })) as { data: string };
      screenshots.set(p.id, Buffer.from(shot.data, 'base64'));
    }
  await conn.send('Browser.close').catch(() => undefined);
  return { title: page.title, errors: [...errors], plots: page.plots, screenshots };
}

/** The text of an event that means something went wrong on the page, or null. */
function describeError(method: string, params: Json): string | null {
  switch (method) {
    case 'Runtime.consoleAPICalled': {
      const p = params as { type: string; args?: { value?: unknown; description?: string }[] };
      if (p.type !== 'error' && p.type !== 'assert') return null;
      return `console.${p.type}: ${(p.args ?? []).map((a) => a.description ?? String(a.value)).join(' ')}`;
    }
    case 'Runtime.exceptionThrown': {
      const d = (params as { exceptionDetails: { text: string; exception?: { description?: string } } }).exceptionDetails;
      return `uncaught: ${d.exception?.description ?? d.text}`;
    }
    case 'Log.entryAdded': {
      const e = (params as { entry: { level: string; text: string; url?: string } }).entry;
      return e.level === 'error' ? `${e.text}${e.url ? ` (${e.url})` : ''}` : null;
    }
    default:
      return null;
  }
}

/** Ends the browser: it closes itself after Browser.close; kill it if it has not after a moment. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const grace = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(grace);
}
