/**
 * node:fs/promises as isomorphic-git wants it. isomorphic-git wraps the fs it is given on every
 * call and probes it twice by calling `readFile()` without a path; against node:fs that builds a
 * Node validation error with a stack trace each time (two per object read: thousands per render).
 * This client answers the probe with one prepared rejection and forwards everything else.
 *
 * Every write goes to a temporary file first and is renamed into place: isomorphic-git writes
 * packfiles, their indexes, refs and `shallow` with plain writeFile, and a write that fails part
 * way (the disk full, the process killed) would leave a torn file under its real name. A torn
 * pack index makes every later read of an object that is not in the cache throw, so the source
 * could never fetch again.
 */
import fsp from 'node:fs/promises';

const PROBE = Promise.reject(new Error('readFile() without a path'));
PROBE.catch(() => {});

let written = 0;

/** writeFile that leaves either the old file or the whole new one, never a part of it. */
const writeWhole = (async (file: string, data: Parameters<typeof fsp.writeFile>[1], options?: unknown) => {
  const tmp = `${file}.${process.pid}-${++written}.tmp`;
  try {
    await fsp.writeFile(tmp, data, options as Parameters<typeof fsp.writeFile>[2]);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}) as typeof fsp.writeFile;

/** The file system isomorphic-git writes its cache through: a file is replaced whole or not at all. */
export const gitFs = {
  readFile: ((
    file: Parameters<typeof fsp.readFile>[0] | undefined,
    options?: Parameters<typeof fsp.readFile>[1],
  ) => (file === undefined ? PROBE : fsp.readFile(file, options))) as typeof fsp.readFile,
  writeFile: writeWhole,
  mkdir: fsp.mkdir,
  rmdir: fsp.rmdir,
  rm: fsp.rm,
  unlink: fsp.unlink,
  stat: fsp.stat,
  lstat: fsp.lstat,
  readdir: fsp.readdir,
  readlink: fsp.readlink,
  symlink: fsp.symlink,
  cp: fsp.cp,
};
