/**
 * Flux as the peer of `bench:peers`: source-controller and kustomize-controller built from their
 * Go modules (pinned in bench/flux/<controller>/go.mod, wrapper modules that copy the controllers'
 * own replace directives), their CRDs taken from those modules' config/crd/bases, and both run as
 * local processes against a lab cluster with the flags of their Deployments (leader election off,
 * every listener on loopback, the artifact server advertised on loopback), except that the client
 * rate limit and the apply concurrency are put on the agent's footing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_POLICY } from '../../agent/src/sync/policy.js';
import { freePorts } from '../../test/cluster/lab-http.js';
import type { RawKube } from './kube-raw.js';
import { getText } from './local-http.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WRAPPERS = resolve(ROOT, 'bench/flux');
export const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller'] as const;
export type FluxController = (typeof FLUX_CONTROLLERS)[number];
export const FLUX_NAMESPACE = 'flux-system';
/** Client-side rate limit of both controllers (requests/s and burst): high enough never to bind. */
export const FLUX_CLIENT_QPS = 10_000;
/** kustomize-controller's server-side applies in flight: the agent's default apply concurrency. */
export const FLUX_CONCURRENT_SSA = DEFAULT_POLICY.concurrency;

/** The pinned release of a controller, read from its wrapper module's go.mod. */
export function fluxVersion(controller: FluxController): string {
  const gomod = readFileSync(join(WRAPPERS, controller, 'go.mod'), 'utf8');
  const version = new RegExp(`github\\.com/fluxcd/${controller} (v\\S+)`).exec(gomod)?.[1];
  if (!version)
    throw new Error(`bench/flux/${controller}/go.mod: no require of github.com/fluxcd/${controller}`);
  return version;
}

const GO_ENV = {
  ...process.env,
  GOTOOLCHAIN: 'local',
  CGO_ENABLED: '0',
  GOFLAGS: '-mod=readonly -buildvcs=false',
};
const BUILD_FLAGS = ['-p', '2', '-trimpath', '-ldflags', '-s -w'];

/**
 * Builds both controllers into `<work>/flux/<inputs hash>/` unless they are there already; the
 * hash covers the wrapper modules, the Go version and the build flags. Returns the binaries' paths.
 */
export function ensureFlux(work: string, say: (line: string) => void): Record<FluxController, string> {
  const hash = createHash('sha256');
  hash.update(execFileSync('go', ['version'], { env: GO_ENV }).toString());
  hash.update(BUILD_FLAGS.join(' '));
  for (const c of FLUX_CONTROLLERS) {
    for (const f of ['go.mod', 'go.sum']) hash.update(readFileSync(join(WRAPPERS, c, f)));
  }
  const dir = join(work, 'flux', hash.digest('hex').slice(0, 16));
  const bins = Object.fromEntries(FLUX_CONTROLLERS.map((c) => [c, join(dir, c)])) as Record<
    FluxController,
    string
  >;
  mkdirSync(dir, { recursive: true });
  for (const c of FLUX_CONTROLLERS) {
    if (existsSync(bins[c])) continue;
    say(`building Flux ${c} ${fluxVersion(c)} from its Go module (first run only; minutes on a cold cache)…`);
    const began = Date.now();
    execFileSync(
      'nice',
      ['-n', '10', 'go', 'build', ...BUILD_FLAGS, '-o', `${bins[c]}.tmp`, `github.com/fluxcd/${c}`],
      { cwd: join(WRAPPERS, c), env: GO_ENV, stdio: ['ignore', 'inherit', 'inherit'], timeout: 3_600_000 },
    );
    renameSync(`${bins[c]}.tmp`, bins[c]);
    say(`  built in ${((Date.now() - began) / 1000).toFixed(0)} s`);
  }
  return bins;
}

/** The controllers' CRD files, from the Go module cache (the build downloaded the modules). */
export function fluxCrdFiles(): string[] {
  const cache = execFileSync('go', ['env', 'GOMODCACHE'], { env: GO_ENV }).toString().trim();
  return FLUX_CONTROLLERS.flatMap((c) => {
    const dir = join(cache, 'github.com/fluxcd', `${c}@${fluxVersion(c)}`, 'config/crd/bases');
    if (!existsSync(dir))
      throw new Error(`${dir}: missing; run the Flux build first (it downloads the module)`);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f));
  });
}

/** Applies the Flux CRDs and waits until the apiserver serves them. */
export async function installFluxCrds(kube: RawKube): Promise<void> {
  const names: string[] = [];
  for (const file of fluxCrdFiles()) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJSON() as { metadata?: { name?: string } } | null;
      const name = crd?.metadata?.name;
      if (!name) continue;
      await kube.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, crd);
      names.push(name);
    }
  }
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await kube.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 60 s`);
      await sleep(200);
    }
  }
}

export interface FluxRun {
  pids: number[];
  /** Each controller's command line, as run. */
  commands: string[];
  /** kustomize-controller's metrics endpoint (controller-runtime's reconcile counters). */
  kustomizeMetrics: string;
  stop(): Promise<void>;
}

/** Starts both controllers; resolves once both answer /readyz. */
export async function startFlux(opts: {
  bins: Record<FluxController, string>;
  kubeconfigs: Record<FluxController, string>;
  dir: string;
}): Promise<FluxRun> {
  const [storage, sourceMetrics, sourceHealth, kustomizeMetrics, kustomizeHealth] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const common = [
    '--watch-all-namespaces',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election=false',
    // On Strata's footing: its agent has no client-side rate limit, so neither does Flux here
    // (its Deployment's default, 50 requests/s with bursts of 300, paced every Flux reconcile of
    // 1,000 objects and more; a token bucket this large never waits on the lab apiserver).
    `--kube-api-qps=${FLUX_CLIENT_QPS}`,
    `--kube-api-burst=${FLUX_CLIENT_QPS}`,
  ];
  const args: Record<FluxController, string[]> = {
    'source-controller': [
      ...common,
      `--storage-path=${join(opts.dir, 'storage')}`,
      `--storage-addr=127.0.0.1:${storage}`,
      `--storage-adv-addr=127.0.0.1:${storage}`,
      `--metrics-addr=127.0.0.1:${sourceMetrics}`,
      `--health-addr=127.0.0.1:${sourceHealth}`,
    ],
    'kustomize-controller': [
      ...common,
      // As many server-side applies in flight as the agent has (its sync policy's default
      // concurrency, 16); Flux's own default is 4.
      `--concurrent-ssa=${FLUX_CONCURRENT_SSA}`,
      `--metrics-addr=127.0.0.1:${kustomizeMetrics}`,
      `--health-addr=127.0.0.1:${kustomizeHealth}`,
    ],
  };
  mkdirSync(join(opts.dir, 'storage'), { recursive: true });
  const children: ChildProcess[] = FLUX_CONTROLLERS.map((c) => {
    const log = openSync(join(opts.dir, `${c}.log`), 'a');
    const child = spawn(opts.bins[c], args[c], {
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        HOME: opts.dir,
        KUBECONFIG: opts.kubeconfigs[c],
        RUNTIME_NAMESPACE: FLUX_NAMESPACE,
        TUF_ROOT: join(opts.dir, '.sigstore'),
      },
    });
    closeSync(log);
    return child;
  });
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const deadline = Date.now() + 60_000;
    for (const port of [sourceHealth, kustomizeHealth]) {
      for (;;) {
        const exited = children.find((c) => c.exitCode !== null);
        if (exited) throw new Error(`a Flux controller exited (${exited.exitCode}); see ${opts.dir}/*.log`);
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline)
          throw new Error(`Flux controllers not ready after 60 s; see ${opts.dir}/*.log`);
        await sleep(200);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pids: children.map((c) => c.pid as number),
    commands: FLUX_CONTROLLERS.map((c) => [c, ...args[c]].join(' ')),
    kustomizeMetrics: `http://127.0.0.1:${kustomizeMetrics}/metrics`,
    stop,
  };
}

/** Kustomization reconciles kustomize-controller has finished since it started. */
export async function fluxReconciles(run: FluxRun): Promise<number> {
  const text = await getText(run.kustomizeMetrics);
  let total = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('controller_runtime_reconcile_total{') &&
      line.includes('controller="kustomization"')
    ) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

const GIT_REPOSITORIES = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/gitrepositories`;
const KUSTOMIZATIONS = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/kustomizations`;
export const FLUX_OBJECT = 'bench';

/** The GitRepository and the Kustomization (prune: true) that sync `path` of the repository. */
export async function applyFluxObjects(
  kube: RawKube,
  spec: { url: string; path: string; interval: string; wait: boolean; timeout: string },
): Promise<void> {
  await kube.apply(`${GIT_REPOSITORIES}/${FLUX_OBJECT}`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: FLUX_OBJECT, namespace: FLUX_NAMESPACE },
    spec: { url: spec.url, ref: { branch: 'main' }, interval: spec.interval, timeout: '60s' },
  });
  await kube.apply(`${KUSTOMIZATIONS}/${FLUX_OBJECT}`, {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: FLUX_OBJECT, namespace: FLUX_NAMESPACE },
    spec: {
      interval: spec.interval,
      path: spec.path,
      prune: true,
      wait: spec.wait,
      // Build, apply and wait in one reconcile: at 10,000 objects on a loaded machine more than 10m.
      timeout: spec.timeout,
      sourceRef: { kind: 'GitRepository', name: FLUX_OBJECT },
    },
  });
}

/** Sets the interval of both objects (GitRepository polling, Kustomization re-apply). */
export async function setFluxInterval(kube: RawKube, interval: string): Promise<void> {
  const patch = JSON.stringify({ spec: { interval } });
  for (const base of [GIT_REPOSITORIES, KUSTOMIZATIONS]) {
    await kube.json('PATCH', `${base}/${FLUX_OBJECT}`, patch, 'application/merge-patch+json');
  }
}

/**
 * Flux's fastest documented trigger short of its webhook receiver: the `reconcile.fluxcd.io/requestedAt`
 * annotation on the GitRepository (what `flux reconcile source git` sets). kustomize-controller
 * watches the source's artifact and reconciles the Kustomization as soon as the revision changes.
 */
export async function requestFluxReconcile(kube: RawKube): Promise<void> {
  const patch = JSON.stringify({
    metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } },
  });
  await kube.json('PATCH', `${GIT_REPOSITORIES}/${FLUX_OBJECT}`, patch, 'application/merge-patch+json');
}

interface FluxStatus {
  status?: {
    lastAppliedRevision?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/**
 * Whether the Kustomization has reconciled `commit` successfully: its last applied revision, which
 * kustomize-controller sets only when a reconcile (health checks included) succeeded. Its Ready
 * condition alone is not enough: on a short interval the next reconcile sets it back to Unknown
 * for as long as it runs.
 */
export async function fluxKustomizationReady(kube: RawKube, commit: string): Promise<boolean> {
  const ks = await kube.get<FluxStatus>(`${KUSTOMIZATIONS}/${FLUX_OBJECT}`);
  return (ks?.status?.lastAppliedRevision ?? '').endsWith(commit);
}
