import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';
/** v5.8.2 is the newest release whose go.mod accepts the Go toolchain installed here (1.26). */
export const KUSTOMIZE_VERSION = 'v5.8.2';

/**
 * Builds kustomize from its Go module into `<work>/bin` unless that binary is already there
 * (the Go build cache makes a rebuild after a wipe quick, too). Returns the binary's path.
 */
export function ensureKustomize(work: string, log: (line: string) => void): string {
  const bin = join(work, 'bin');
  const path = join(bin, 'kustomize');
  if (existsSync(path)) return path;
  mkdirSync(bin, { recursive: true });
  log(`building kustomize ${KUSTOMIZE_VERSION} from ${KUSTOMIZE_MODULE} (first run only)…`);
  const started = Date.now();
  execFileSync('go', ['install', `${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}`], {
    cwd: work,
    env: { ...process.env, GOBIN: bin, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  log(`built kustomize in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return path;
}
