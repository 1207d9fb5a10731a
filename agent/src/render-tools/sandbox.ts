import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Loaded when a tool first runs: node:child_process (with node:net) is a good part of a short
// `strata render`'s start-up, and a render without kustomize or helm never needs it.
const spawnSync = ((...args: unknown[]) =>
  (createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')).spawnSync(
    ...(args as Parameters<typeof import('node:child_process').spawnSync>),
  )) as typeof import('node:child_process').spawnSync;

/**
 * How a child is kept off the network: its own empty network namespace, or dead proxies only; or
 * `open`, for a kustomize job whose layer allows remote bases (strata.yaml `remoteBases`).
 */
export type NetworkIsolation = 'namespace' | 'proxy' | 'open';

let probed: NetworkIsolation | undefined;

/** util-linux's helpers by absolute path: the child's PATH is empty on purpose. */
export function systemBinary(name: 'prlimit' | 'unshare'): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * An unprivileged user + network namespace (`unshare -rn`) gives the child no interface but
 * loopback, so nothing it runs can reach anything. Where the kernel or the container forbids user
 * namespaces, the child still gets no proxy-free route: every proxy variable points at a closed port
 * and PATH is empty, so neither tool can start `git` or a plugin. Probed once per process.
 */
export function networkIsolation(): NetworkIsolation {
  if (probed) return probed;
  const unshare = systemBinary('unshare');
  const probe = unshare ? spawnSync(unshare, ['-rn', 'true'], { stdio: 'ignore', timeout: 5000 }) : undefined;
  probed = probe?.status === 0 ? 'namespace' : 'proxy';
  return probed;
}

/** A throw-away working copy of a job's files, removed by `dispose`. */
export interface Workspace {
  root: string;
  /** Where the job's files are; the child's working directory. */
  copy: string;
  /** HOME, TMPDIR and Helm's folders: inside the workspace, empty, so no user plugin or config is read. */
  home: string;
  dispose(): Promise<void>;
}

/** Paths come from the fleet repository or from the renderer: never absolute, never climbing out. */
function checkJobPath(path: string): string {
  if (
    path === '' ||
    path.startsWith('/') ||
    path.split('/').some((s) => s === '..' || s === '.' || s === '')
  ) {
    throw new Error(`invalid working-copy path '${path}'`);
  }
  return path;
}

/** A private temporary folder for one tool run, removed afterwards whatever happens. */
export async function createWorkspace(
  parent: string,
  files: ReadonlyMap<string, Uint8Array>,
): Promise<Workspace> {
  await mkdir(parent, { recursive: true });
  const root = await mkdtemp(join(parent, 'strata-tool-'));
  const copy = join(root, 'work');
  const home = join(root, 'home');
  try {
    await mkdir(copy);
    await mkdir(join(home, 'tmp'), { recursive: true });
    for (const [path, bytes] of files) {
      const full = join(copy, checkJobPath(path));
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, bytes, { flag: 'wx' });
    }
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  return { root, copy, home, dispose: () => rm(root, { recursive: true, force: true }) };
}

const DEAD_PROXY = 'http://127.0.0.1:9';

/**
 * The system folders an `open` job may run programs from: kustomize clones a remote base with the
 * `git` it finds on PATH, and git's own scripts (`git submodule`) need sed, basename and uname.
 */
const SYSTEM_PATH = '/usr/bin:/bin';

/**
 * The child's whole environment: nothing of the agent's own, no proxy that works, no PATH. An
 * `open` job gets the system PATH (for git) and no proxy variables.
 */
export function childEnvironment(ws: Workspace, isolation: NetworkIsolation): Record<string, string> {
  const env: Record<string, string> = {
    PATH: isolation === 'open' ? SYSTEM_PATH : join(ws.home, 'no-bin'),
    HOME: ws.home,
    TMPDIR: join(ws.home, 'tmp'),
    KUBECONFIG: join(ws.home, 'no-kubeconfig'),
    HELM_CACHE_HOME: join(ws.home, 'helm-cache'),
    HELM_CONFIG_HOME: join(ws.home, 'helm-config'),
    HELM_DATA_HOME: join(ws.home, 'helm-data'),
    HELM_PLUGINS: join(ws.home, 'helm-plugins'),
    XDG_CONFIG_HOME: join(ws.home, 'config'),
    KUSTOMIZE_PLUGIN_HOME: join(ws.home, 'kustomize-plugins'),
    // Go's runtime and its GC stay small when the machine is shared; the hard ceiling is RLIMIT_AS.
    GOMAXPROCS: '2',
    // git, when an open job runs it: no system or user config, no credential prompt.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
  if (isolation === 'proxy') {
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) {
      env[name] = DEAD_PROXY;
    }
    env.NO_PROXY = '';
    env.no_proxy = '';
  }
  return env;
}
