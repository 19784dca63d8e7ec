/** Writes that are on disk when they return: what an atomic rename may be built on. */
import { closeSync, fsyncSync, openSync, writeFileSync } from 'node:fs';

/** Flushes a file's or a folder's contents (a folder: the names in it, e.g. after a rename). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `path` (replacing it) and flushes it before returning. */
export function writeFileDurable(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
