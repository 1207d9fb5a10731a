/**
 * node:fs/promises as isomorphic-git wants it. isomorphic-git wraps the fs it is given on every
 * call and probes it twice by calling `readFile()` without a path; against node:fs that builds a
 * Node validation error with a stack trace each time (two per object read: thousands per render).
 * This client answers the probe with one prepared rejection and forwards everything else.
 */
import fsp from 'node:fs/promises';

const PROBE = Promise.reject(new Error('readFile() without a path'));
PROBE.catch(() => {});

export const gitFs = {
  readFile: ((
    file: Parameters<typeof fsp.readFile>[0] | undefined,
    options?: Parameters<typeof fsp.readFile>[1],
  ) => (file === undefined ? PROBE : fsp.readFile(file, options))) as typeof fsp.readFile,
  writeFile: fsp.writeFile,
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
