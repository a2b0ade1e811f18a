/**
 * Output paths are checked before any work: a report directory or metrics file that cannot be
 * written must refuse the run up front, not fail with a stack trace after the warehouse changed.
 * Directories are created one level at a time: Node's recursive mkdir never returns on some
 * paths (/proc/…), which once left a run spinning with the warehouse lock held.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, rmSync, statSync } from 'fs';
import * as path from 'path';
import { BqxError } from '../core/errors';

function unusable(what: string, p: string, why: string): BqxError {
  return new BqxError('OUTPUT_PATH_INVALID', `${what} ${p} cannot be written: ${why}`, `pass a ${what.includes('directory') ? 'directory' : 'file path'} you can write to (nothing was changed)`, 'BAD_INPUT');
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a directory';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'ENOENT') return 'that location does not allow creating it';
  return (e as Error).message;
}

/**
 * Creates `dir` (and missing parents) if needed and proves it writable with a probe file. With
 * `create: false` (the check before a run) nothing is created: the nearest existing directory is
 * proved writable instead, so a run refused later leaves no empty directory behind.
 */
export function ensureWritableDir(dir: string, what = 'output directory', opts: { create?: boolean } = {}): string {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      const st = statSync(cur);
      if (!st.isDirectory()) throw unusable(what, dir, `${cur} is a file, not a directory`);
      break;
    } catch (e) {
      if (e instanceof BqxError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw unusable(what, dir, reason(e));
      missing.unshift(cur);
      const parent = path.dirname(cur);
      if (parent === cur) throw unusable(what, dir, 'no existing parent directory');
      cur = parent;
    }
  }
  if (opts.create === false) {
    probeWritable(missing.length ? cur : abs, what, dir);
    return abs;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(what, dir, reason(e));
    }
  }
  probeWritable(abs, what, dir);
  return abs;
}

function probeWritable(existing: string, what: string, dir: string): void {
  const probe = path.join(existing, `.bqx-write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (e) {
    throw unusable(what, dir, reason(e));
  }
}

/** The file's directory is writable and the file itself is not a directory (and writable if it exists). */
export function ensureWritableFile(file: string, what = 'output file', opts: { create?: boolean } = {}): string {
  const abs = path.resolve(file);
  try {
    if (statSync(abs).isDirectory()) throw unusable(what, file, 'it is a directory');
    accessSync(abs, constants.W_OK);
  } catch (e) {
    if (e instanceof BqxError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(what, file, reason(e));
  }
  ensureWritableDir(path.dirname(abs), `directory of the ${what}`, opts);
  return abs;
}
