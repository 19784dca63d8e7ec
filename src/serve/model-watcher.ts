/**
 * Which model version is served, and swapping in new ones without failing a request.
 *
 * Like TensorFlow Serving, `path` is either a model directory (model.json inside; served as
 * version 1, and as 2, 3, ... each time its files change, e.g. `esmm train --out` again) or a
 * base directory whose numeric subdirectories are versions (path/1, path/7, ...): the highest
 * one is served. check() looks again (the server calls it every few seconds and on SIGHUP):
 *   - a new version (or changed files) is loaded while the old one keeps serving, then swapped in;
 *   - one that fails to load is refused and logged, the old one keeps serving, and it is not tried
 *     again until its files change (a copy still in progress gets another chance);
 *   - a request holds a lease on the version it started with, and an old version is released
 *     only after its last lease ends, so no request sees its model go away.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Predictor, type PredictorOptions } from './predictor.js';

export interface ServedVersion {
  version: number;
  dir: string;
  predictor: Predictor;
  loadedAt: Date;
}

/** A request's hold on one version; release() exactly once when done. */
export interface Lease {
  readonly served: ServedVersion;
  release(): void;
}

export interface LoadFailure {
  version: number;
  dir: string;
  message: string;
  at: Date;
}

export type CheckResult = 'unchanged' | 'loaded' | 'refused';

export interface WatcherOptions {
  predictor?: PredictorOptions;
  /** One line per event (loads, refusals, releases). */
  log?: (line: string) => void;
  /** Called after a version is swapped in (or refused). */
  onCheck?: (result: CheckResult, version: number) => void;
}

interface Candidate {
  version: number;
  dir: string;
  /** Names, sizes and times of the files: a changed copy is a new candidate. */
  fingerprint: string;
}

class Holder {
  refs = 0;
  retired = false;
  constructor(
    readonly served: ServedVersion,
    readonly fingerprint: string,
  ) {}
}

export class ModelWatcher {
  private lastFailed: { dir: string; fingerprint: string } | null = null;
  private checking: Promise<CheckResult> | null = null;
  private readonly releasing = new Set<Promise<void>>();
  private closed = false;
  /** Set when the last check refused a version; cleared when one loads. */
  lastFailure: LoadFailure | null = null;

  private constructor(
    readonly path: string,
    readonly layout: 'model' | 'versions',
    private current: Holder,
    private readonly opts: WatcherOptions,
  ) {}

  /** Loads the version to serve; throws (nothing served) when there is none or it does not load. */
  static async open(path: string, opts: WatcherOptions = {}): Promise<ModelWatcher> {
    const layout = layoutOf(path);
    const candidate = findCandidate(path, layout, 0);
    if (!candidate) throw new Error(`${path}: no version to serve: the base directory has no numeric subdirectory (${join(path, '1')}, ...)`);
    let predictor: Predictor;
    try {
      predictor = await Predictor.load(candidate.dir, opts.predictor);
    } catch (e) {
      throw new Error(`cannot serve ${candidate.dir}: ${(e as Error).message}`);
    }
    const served = { version: candidate.version, dir: candidate.dir, predictor, loadedAt: new Date() };
    opts.log?.(`serving version ${served.version} from ${served.dir}`);
    return new ModelWatcher(path, layout, new Holder(served, candidate.fingerprint), opts);
  }

  get served(): ServedVersion {
    return this.current.served;
  }

  acquire(): Lease {
    const holder = this.current;
    holder.refs++;
    let done = false;
    return {
      served: holder.served,
      release: () => {
        if (done) return;
        done = true;
        if (--holder.refs === 0 && holder.retired) this.free(holder);
      },
    };
  }

  /** Looks for a new version and swaps it in; concurrent calls share one look. */
  check(): Promise<CheckResult> {
    if (this.closed) return Promise.resolve('unchanged');
    this.checking ??= this.look().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Stops serving: waits for a running check and for every lease, then releases all models. */
  async close(): Promise<void> {
    this.closed = true;
    await this.checking;
    const holder = this.current;
    holder.retired = true;
    if (holder.refs === 0) this.free(holder);
    while (this.releasing.size > 0 || holder.refs > 0) {
      if (this.releasing.size > 0) await Promise.all(this.releasing);
      else await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async look(): Promise<CheckResult> {
    let candidate: Candidate | null;
    try {
      candidate = findCandidate(this.path, this.layout, this.current.served.version);
    } catch (e) {
      this.opts.log?.(`cannot look for new versions in ${this.path}: ${(e as Error).message}; still serving version ${this.served.version}`);
      return 'unchanged';
    }
    if (!candidate) return 'unchanged';
    const same = candidate.dir === this.current.served.dir && candidate.fingerprint === this.current.fingerprint;
    const failedBefore = this.lastFailed?.dir === candidate.dir && this.lastFailed.fingerprint === candidate.fingerprint;
    if (same || failedBefore) return 'unchanged';
    // A model directory whose files changed is the next version of the one served.
    if (this.layout === 'model') candidate.version = this.current.served.version + 1;

    let predictor: Predictor;
    try {
      predictor = await Predictor.load(candidate.dir, this.opts.predictor);
    } catch (e) {
      const message = (e as Error).message;
      this.lastFailed = { dir: candidate.dir, fingerprint: candidate.fingerprint };
      this.lastFailure = { version: candidate.version, dir: candidate.dir, message, at: new Date() };
      this.opts.log?.(`refused version ${candidate.version} (${candidate.dir}): ${message}; still serving version ${this.served.version}`);
      this.opts.onCheck?.('refused', candidate.version);
      return 'refused';
    }
    if (this.closed) {
      await predictor.release();
      return 'unchanged';
    }
    const old = this.current;
    this.current = new Holder({ version: candidate.version, dir: candidate.dir, predictor, loadedAt: new Date() }, candidate.fingerprint);
    this.lastFailure = null;
    this.lastFailed = null;
    old.retired = true;
    if (old.refs === 0) this.free(old);
    this.opts.log?.(`serving version ${candidate.version} from ${candidate.dir} (was version ${old.served.version})`);
    this.opts.onCheck?.('loaded', candidate.version);
    return 'loaded';
  }

  private free(holder: Holder): void {
    const done = holder.served.predictor
      .release()
      .catch((e: unknown) => this.opts.log?.(`releasing version ${holder.served.version} failed: ${(e as Error).message}`))
      .finally(() => this.releasing.delete(done));
    this.releasing.add(done);
  }
}

function layoutOf(path: string): 'model' | 'versions' {
  if (existsSync(join(path, 'model.json'))) return 'model';
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new Error(`${path}: no such directory; give a model directory (from 'esmm train --out') or a base directory of numbered versions`);
  }
  if (!isDir) throw new Error(`${path}: not a directory; give a model directory or a base directory of numbered versions`);
  return 'versions';
}

/**
 * What should be served now: the model directory itself (version: the current one, or 1), or the
 * highest numeric subdirectory. Null when a base directory has no version at all.
 */
function findCandidate(path: string, layout: 'model' | 'versions', currentVersion: number): Candidate | null {
  switch (layout) {
    case 'model':
      return { version: Math.max(currentVersion, 1), dir: path, fingerprint: fingerprintOf(path) };
    case 'versions': {
      let best = -1;
      for (const name of readdirSync(path)) {
        if (!/^\d{1,15}$/.test(name)) continue;
        const v = Number(name);
        if (v > best && isDirectory(join(path, name))) best = v;
      }
      if (best < 0) return null;
      const dir = join(path, String(best));
      return { version: best, dir, fingerprint: fingerprintOf(dir) };
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Names, sizes, modification times and inodes of a directory's files. */
function fingerprintOf(dir: string): string {
  const parts: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    try {
      const s = statSync(join(dir, name));
      parts.push(`${name}:${s.size}:${s.mtimeMs}:${s.ino}`);
    } catch {
      parts.push(`${name}:gone`);
    }
  }
  return parts.join('|');
}
