/**
 * prepareSplit: any supported input of one split -> the prepared binary cache (see
 * prepared-format.ts), built once and reused while the input files are unchanged.
 *
 * The cache is written into a temp folder beside its final place and renamed at the end, so a
 * crash or a strict-mode error never leaves a half cache that looks valid.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { readCommonFeatures, readSkeleton } from '../formats/aliccp-raw.js';
import { SampleBlockWriter } from '../formats/block-writer.js';
import { ignoredColumns, planCsvFile, readCsvFile, type CsvFilePlan } from '../formats/csv-ids.js';
import { FieldDictionary } from '../formats/field-dictionary.js';
import { MAX_LINE_BYTES } from '../text/line-reader.js';
import { readPaddleRecFile } from '../formats/paddlerec.js';
import { MAX_ROW_ENTRIES } from '../text/read-lines.js';
import {
  GROUPS_FILE,
  MANIFEST_FILE,
  PREPARED_FORMAT,
  PREPARED_VERSION,
  SAMPLES_FILE,
  groupTableOf,
  openPreparedSplit,
  preparedSplitOf,
  readManifest,
  writeBlock,
  writeGroups,
  manifestText,
  type GroupSections,
  type PreparedManifest,
  type PreparedSplit,
  type SourceFileStamp,
} from './prepared-format.js';
import { firstProblemError } from '../problems.js';
import { PhaseProgress, type PrepareProgress } from '../text/read-progress.js';
import { describeSplitFiles, missingSplitMessage, type SourceFormat, type SplitFiles } from '../formats/split-files.js';
import { TruthReader } from '../formats/truth-reader.js';
import { DataError, type InputReport } from '../types.js';
import { writeFileDurable } from '../../util/durable-fs.js';

export { describeSplitFiles, type SplitFiles, type SourceFormat } from '../formats/split-files.js';
export { openPreparedSplit, type PreparedSplit } from './prepared-format.js';
export type { PrepareProgress } from '../text/read-progress.js';
export { MAX_LINE_BYTES } from '../text/line-reader.js';
export { MAX_ROW_ENTRIES } from '../text/read-lines.js';

export interface PrepareOptions {
  dataDir: string;
  split: string;
  /** Where caches live; default <dataDir>/.esmm-cache. The split's cache is <cacheDir>/<split>/. */
  cacheDir?: string;
  format?: 'auto' | SourceFormat;
  /** Throw a DataError at the first bad row instead of counting it. */
  strict?: boolean;
  /** Rebuild even if a fresh cache exists. */
  force?: boolean;
  /** Longest line accepted (default MAX_LINE_BYTES); longer lines are counted and skipped. */
  maxLineBytes?: number;
  /** Most feature entries per row (default MAX_ROW_ENTRIES); larger rows are counted and skipped. */
  maxRowEntries?: number;
  onProgress?: (p: PrepareProgress) => void;
}

/** Split names become file and folder names: keep them plain (no dots, so temp names never clash). */
const SPLIT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Converts one split into the prepared cache, or opens the cache if it is fresh. */
export async function prepareSplit(opts: PrepareOptions): Promise<PreparedSplit> {
  const { split } = opts;
  if (!SPLIT_NAME.test(split)) throw new DataError(opts.dataDir, 0, 'io', `split name "${split}" must be letters, digits, "_" or "-"`);
  const limits = { maxLineBytes: opts.maxLineBytes ?? MAX_LINE_BYTES, maxRowEntries: opts.maxRowEntries ?? MAX_ROW_ENTRIES };
  const { maxLineBytes } = limits;
  const found = describeSplitFiles(opts.dataDir, split, opts.format ?? 'auto');
  if (found.kind === 'missing') throw new DataError(resolve(opts.dataDir), 0, 'io', missingSplitMessage(found));
  const csvPlans = found.kind === 'csv' ? planCsvFiles(found.files, split, maxLineBytes) : [];
  const stamps = inputFiles(found, csvPlans).map(stampFile);

  const cacheRoot = resolve(opts.cacheDir ?? join(opts.dataDir, '.esmm-cache'));
  const splitDir = join(cacheRoot, split);
  if (!opts.force) {
    const cached = openIfFresh(splitDir, split, found.kind, stamps, limits);
    if (cached) {
      if (opts.strict) {
        const first = firstProblemError(cached.reports);
        if (first) throw first;
      }
      return cached;
    }
  }

  const tmp = makeTempDir(cacheRoot, split);
  let written: { manifest: PreparedManifest; groups: GroupSections };
  try {
    written = await writePrepared(tmp, found, csvPlans, stamps, { ...opts, ...limits });
    writeFileDurable(join(tmp, MANIFEST_FILE), manifestText(written.manifest));
    install(tmp, splitDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw asCacheWriteError(e, cacheRoot);
  }
  // The group table is still in memory: no need to read back what was just written.
  return { ...preparedSplitOf(splitDir, written.manifest, groupTableOf(written.groups)), reused: false };
}

/** Limits on the size of input lines and rows: part of what a cache was built with. */
type ReadLimits = PreparedManifest['options'];
type WriteOptions = PrepareOptions & ReadLimits;

/** Reads the input and writes samples.bin and groups.bin into `dir`; returns the manifest and the group table. */
async function writePrepared(
  dir: string,
  found: Exclude<SplitFiles, { kind: 'missing' }>,
  csvPlans: CsvFilePlan[],
  stamps: SourceFileStamp[],
  opts: WriteOptions,
): Promise<{ manifest: PreparedManifest; groups: GroupSections }> {
  const fields = new FieldDictionary();
  const readOptions = { fields, strict: opts.strict === true, maxLineBytes: opts.maxLineBytes, maxRowEntries: opts.maxRowEntries };
  const reports: InputReport[] = [];
  const warnings: string[] = [];
  const blockOffsets = [0];
  const blockCrcs: number[] = [];
  let numEntries = 0;
  let groups: GroupSections = EMPTY_GROUPS;
  let groupsFile: GroupsFile | null = null;

  const samplesFd = openSync(join(dir, SAMPLES_FILE), 'w');
  const samplesFlusher = new BackgroundFlusher(samplesFd);
  const truth = found.kind === 'aliccp' && found.truth ? new TruthReader(found.truth, opts.maxLineBytes) : null;
  try {
    const writer = new SampleBlockWriter((block) => {
      const { byteLength, crc } = writeBlock(samplesFd, block);
      blockOffsets.push(blockOffsets[blockOffsets.length - 1]! + byteLength);
      blockCrcs.push(crc);
      numEntries += block.offsets[block.count]!;
      samplesFlusher.poke();
    }, truth);
    const sizeOf = (files: string[]): number => files.reduce((n, f) => n + statSync(f).size, 0);

    switch (found.kind) {
      case 'aliccp': {
        const common = await readCommonFeatures(found.common, readOptions, new PhaseProgress('common', sizeOf([found.common]), opts.onProgress));
        reports.push(common.report);
        groups = common.table.sections();
        // The group table is final: it goes to disk while the skeleton is read.
        groupsFile = writeGroupsFile(join(dir, GROUPS_FILE), groups);
        const samples = new PhaseProgress('samples', sizeOf([found.skeleton]), opts.onProgress);
        reports.push(await readSkeleton(found.skeleton, common, readOptions, writer, samples));
        break;
      }
      case 'paddlerec': {
        const progress = new PhaseProgress('samples', sizeOf(found.files), opts.onProgress);
        let nextId = 1;
        for (const file of found.files) {
          const report = await readPaddleRecFile(file, nextId, readOptions, writer, progress);
          nextId += report.lines;
          reports.push(report);
        }
        break;
      }
      case 'csv': {
        const progress = new PhaseProgress('samples', sizeOf(found.files), opts.onProgress);
        let nextId = 1;
        for (const plan of csvPlans) {
          const report = await readCsvFile(plan, nextId, readOptions, writer, progress);
          nextId += report.lines;
          reports.push(report);
          const dense = ignoredColumns(plan);
          if (dense.length > 0) warnings.push(`${plan.path}: ignored ${dense.length} dense columns (${dense.join(', ')}): only id columns are read`);
          if (plan.headerFrom) warnings.push(`${plan.path} has no header line: used the header of ${plan.headerFrom}`);
        }
        break;
      }
      default: {
        const never: never = found;
        throw new Error(`unknown input kind ${JSON.stringify(never)}`);
      }
    }
    writer.finish();
    const hasTruth = truth !== null && writer.truthComplete && truth.warning === null;
    if (truth) {
      reports.push(truth.report());
      if (!hasTruth) warnings.push(truth.warning ?? `${truth.path}: incomplete: prepared without truth`);
    }
    groupsFile ??= writeGroupsFile(join(dir, GROUPS_FILE), groups);
    await settleAll([samplesFlusher.done(), groupsFile.flushed]);
    const manifest: PreparedManifest = {
      format: PREPARED_FORMAT,
      version: PREPARED_VERSION,
      split: opts.split,
      source: { format: found.kind, files: stamps },
      options: { maxLineBytes: opts.maxLineBytes, maxRowEntries: opts.maxRowEntries },
      fieldNames: fields.names.slice(),
      numSamples: writer.numSamples,
      numBlocks: writer.numBlocks,
      blockOffsets,
      blockCrcs,
      groupsCrc: groupsFile.crc,
      numEntries,
      clicks: writer.clicks,
      conversions: writer.conversions,
      numGroups: groups.count,
      numGroupEntries: groups.offsets[groups.count]!,
      hasTruth,
      reports,
      warnings,
      createdAt: new Date().toISOString(),
    };
    return { manifest, groups };
  } finally {
    truth?.close();
    if (groupsFile) {
      await groupsFile.flushed.catch(() => {}); // its fd must not close under a running fsync
      closeSync(groupsFile.fd);
    }
    await samplesFlusher.settle();
    closeSync(samplesFd);
  }
}

/** groups.bin, written; its fsync may still be running (`flushed`). */
interface GroupsFile {
  fd: number;
  crc: number;
  flushed: Promise<void>;
}

function writeGroupsFile(path: string, groups: GroupSections): GroupsFile {
  const fd = openSync(path, 'w');
  let crc: number;
  try {
    crc = writeGroups(fd, groups);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return { fd, crc, flushed: fsyncInBackground(fd) };
}

/**
 * fsync on libuv's thread pool: the disk writes back while this thread goes on parsing. Its
 * rejection is handled here so an earlier error cannot leave it unhandled; awaiting it still throws.
 */
function fsyncInBackground(fd: number): Promise<void> {
  const done = new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
  done.catch(() => {});
  return done;
}

/**
 * fsyncs of a file that is still being appended to: `poke()` after a write starts one in the
 * background unless one is running, so the data goes to disk while later data is parsed, and the
 * last fsync has little left to do. `done()` waits for the running one, then does the last one;
 * it throws the first error any of them had.
 */
class BackgroundFlusher {
  private running: Promise<void> | null = null;
  private error: unknown = null;

  constructor(private readonly fd: number) {}

  poke(): void {
    if (this.running) return;
    this.running = fsyncInBackground(this.fd)
      .catch((e: unknown) => {
        this.error ??= e;
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** Resolves once no fsync is running (the fd may then be closed). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  async done(): Promise<void> {
    await this.settle();
    await fsyncInBackground(this.fd);
    if (this.error !== null) throw this.error;
  }
}

/** Waits for all (none is left running), then throws the first error. */
async function settleAll(pending: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(pending);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Headers of all CSV files; they must agree (one dataset per folder). */
function planCsvFiles(files: string[], split: string, maxLineBytes: number): CsvFilePlan[] {
  const plans = files.map((f) => planCsvFile(f, split, maxLineBytes));
  const first = plans[0]!;
  for (const plan of plans.slice(1)) {
    if (plan.columns.join(',') !== first.columns.join(',')) {
      throw new DataError(plan.path, 1, 'io',
        `the CSV files of split "${split}" have different columns: ${first.path} (${first.columns.length} columns) ` +
          `and ${plan.path} (${plan.columns.length} columns); keep one dataset per data folder`);
    }
  }
  return plans;
}

/** Every file whose change must invalidate the cache. */
function inputFiles(found: Exclude<SplitFiles, { kind: 'missing' }>, csvPlans: CsvFilePlan[]): string[] {
  switch (found.kind) {
    case 'aliccp':
      return [found.common, found.skeleton, ...(found.truth ? [found.truth] : [])];
    case 'paddlerec':
      return found.files;
    case 'csv': {
      const borrowed = csvPlans.map((p) => p.headerFrom).filter((f): f is string => f !== null && !found.files.includes(f));
      return [...found.files, ...new Set(borrowed)];
    }
    default: {
      const never: never = found;
      throw new Error(`unknown input kind ${JSON.stringify(never)}`);
    }
  }
}

function stampFile(path: string): SourceFileStamp {
  const s = statSync(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs };
}

/** The cache in `splitDir` if it was built from exactly these files and options, else null. */
function openIfFresh(splitDir: string, split: string, format: SourceFormat, stamps: SourceFileStamp[], limits: ReadLimits): PreparedSplit | null {
  if (!existsSync(join(splitDir, MANIFEST_FILE))) return null;
  try {
    const m = readManifest(splitDir);
    const same =
      m.split === split &&
      m.source.format === format &&
      m.options?.maxLineBytes === limits.maxLineBytes &&
      m.options?.maxRowEntries === limits.maxRowEntries &&
      m.source.files.length === stamps.length &&
      m.source.files.every((f, i) => f.path === stamps[i]!.path && f.size === stamps[i]!.size && f.mtimeMs === stamps[i]!.mtimeMs);
    return same ? openPreparedSplit(splitDir) : null;
  } catch {
    return null; // unreadable, old or damaged: rebuild it
  }
}

/** A fresh temp folder beside the final one, after removing temp folders of dead processes. */
function makeTempDir(cacheRoot: string, split: string): string {
  try {
    mkdirSync(cacheRoot, { recursive: true });
    accessSync(cacheRoot, constants.W_OK);
    cleanStaleTemps(cacheRoot, split);
    const tmp = join(cacheRoot, `${split}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(tmp);
    return tmp;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new DataError(cacheRoot, 0, 'io', `cannot write the prepared cache here (${code}): pass a writable folder as cacheDir (--cache-dir)`);
  }
}

/** Removes <split>.tmp-<pid>-* and <split>.old-<pid>-* folders left by processes that are gone. */
function cleanStaleTemps(cacheRoot: string, split: string): void {
  const pattern = new RegExp(`^${split}\\.(tmp|old)-(\\d+)-[0-9a-f]+$`);
  for (const name of readdirSync(cacheRoot)) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    rmSync(join(cacheRoot, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Moves the finished temp folder into place (an older cache is renamed away first, then removed). */
function install(tmp: string, splitDir: string): void {
  if (existsSync(splitDir)) {
    const old = `${splitDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    renameSync(splitDir, old);
    renameSync(tmp, splitDir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, splitDir);
  }
}

/** Out of space or permission while writing: a DataError that says where and what to do. */
function asCacheWriteError(e: unknown, cacheRoot: string): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (e instanceof DataError || !code || !['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO'].includes(code)) return e;
  const why = `${code}: ${(e as Error).message}`;
  return new DataError(cacheRoot, 0, 'io', `writing the prepared cache failed (${why}): free some space or pass another folder as cacheDir (--cache-dir)`);
}

const EMPTY_GROUPS: GroupSections = { count: 0, offsets: new Uint32Array(1), fields: [], keys: [], values: [] };
