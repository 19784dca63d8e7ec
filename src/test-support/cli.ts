import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';

/** Runs the built CLI (dist/cli/main.js of this build) and returns its status and output. */
export function runCli(args: string[], opts: { cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliMain(), ...args], { encoding: 'utf8', cwd: opts.cwd, timeout: 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The built CLI's entry point (run it with process.execPath). */
export function cliMain(): string {
  return join(packageRoot(), distDirName(), 'cli', 'main.js');
}

/** The build folder this module runs from (dist, or a helper's .build-*). */
function distDirName(): string {
  const parts = new URL(import.meta.url).pathname.split('/');
  return parts[parts.length - 3]!;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `esmm-${prefix}-`));
}
