/**
 * Strata against the tools a user compares it with, as whole processes on real-shaped input:
 *
 *   npm run bench:real [-- --runs 5] [-- --kubeconfig PATH [--plan-only]]   (STRATA_BUNDLE=path/strata.js: another build)
 *
 * (a) `strata render` (the bundled CLI) vs `kustomize build` of the same objects: the examples/
 *     fleet's global layer, and a generated ≈2 MB vendor install manifest (large CRDs, RBAC,
 *     Deployments, no namespaces) given a namespace (a Strata layer namespace vs kustomize's
 *     `namespace:`). Strata's own time is its wall time minus a bare `node -e 0` measured in the
 *     same run (Node's start-up, which a Go binary does not pay).
 * (b) with --kubeconfig (a lab cluster: `npm run lab -- up --clusters bench`): `strata plan` vs
 *     `kubectl diff --server-side` of the vendor manifest, wall and CPU time.
 * Runs alternate pairwise (node, strata, peer, node, …); medians and ratios (peer / Strata) print.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { toolPath } from '../test/support/tools.js';
import { vendorManifest } from './lib/vendor-manifest.js';

const ROOT = new URL('..', import.meta.url).pathname;
const WORK = join(ROOT, 'bench/.work/real');
// STRATA_BUNDLE: another build's strata.js, to compare builds in the same run of this bench.
const STRATA = process.env.STRATA_BUNDLE ?? join(ROOT, 'dist/bundle/strata.js');
const log = (line: string) => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    kubeconfig: { type: 'string' },
    'plan-only': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);

interface Timing {
  ms: number;
  cpuMs: number;
}

/** Wall and CPU (user + system, children included) time of one command, which must succeed. */
function time(command: string, args: string[], env?: NodeJS.ProcessEnv): Timing {
  const script = `TIMEFORMAT='%R %U %S'; { time "$@" >/dev/null 2>/tmp/strata-bench-real.err; } 2>&1`;
  const result = spawnSync('bash', ['-c', script, 'bench', command, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const [real, user, sys] = result.stdout.trim().split('\n').at(-1)!.split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return { ms: real * 1000, cpuMs: (user + sys) * 1000 };
}

/**
 * Like `time`, for commands whose exit code `changes` says "there are differences" (kubectl diff
 * exits 1, strata plan 3).
 */
function timeAllowing(changes: number, command: string, args: string[], env?: NodeJS.ProcessEnv): Timing {
  const wrapped = ['-c', `"$@"; c=$?; test $c -eq 0 -o $c -eq ${changes}`, 'bench', command, ...args];
  return time('bash', wrapped, env);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = join(dir, name);
      return statSync(full).isDirectory() ? yamlFiles(full) : name.endsWith('.yaml') ? [full] : [];
    })
    .sort();
}

interface RenderCase {
  name: string;
  strataRepo: string;
  cluster: string;
  labels: string;
  kustomizeDir: string;
}

/**
 * examples/fleet's plain-YAML global folders (shop and monitoring: Namespaces, ConfigMaps,
 * Deployments, …); its chart and kustomize overlay (global/api, global/cache) are left out, so
 * both sides read the same plain objects.
 */
function copyPlainGlobal(to: string): void {
  for (const dir of ['shop', 'monitoring'])
    cpSync(join(ROOT, 'examples/fleet/global', dir), join(to, dir), { recursive: true });
}

function prepare(): RenderCase[] {
  rmSync(WORK, { recursive: true, force: true });
  const cases: RenderCase[] = [];
  // examples/fleet's global layer.
  const fleet = join(WORK, 'fleet-global');
  copyPlainGlobal(join(fleet, 'strata/global'));
  writeFileSync(
    join(fleet, 'strata/strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n',
  );
  const kz = join(fleet, 'kustomize');
  copyPlainGlobal(kz);
  const resources = yamlFiles(kz).map((f) => `  - ${relative(kz, f)}`);
  writeFileSync(join(kz, 'kustomization.yaml'), `resources:\n${resources.join('\n')}\n`);
  cases.push({
    name: 'examples/fleet global (shop, monitoring)',
    strataRepo: join(fleet, 'strata'),
    cluster: 'c',
    labels: 'env=prod',
    kustomizeDir: kz,
  });
  // An overlay: examples/fleet's global layer with envs/staging's two merge patches on top. For
  // kustomize the same patches, written as strategic-merge patches of a kustomization over the base.
  const staging = join(WORK, 'fleet-staging');
  copyPlainGlobal(join(staging, 'strata/global'));
  cpSync(join(ROOT, 'examples/fleet/envs/staging'), join(staging, 'strata/envs/staging'), {
    recursive: true,
  });
  writeFileSync(
    join(staging, 'strata/strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: envs/{labels.env}\n',
  );
  const overlay = join(staging, 'kustomize/staging');
  mkdirSync(overlay, { recursive: true });
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    [
      'resources:',
      '  - ../../../fleet-global/kustomize',
      'patches:',
      '  - target: { kind: Deployment, name: web, namespace: shop }',
      '    patch: |',
      '      apiVersion: apps/v1',
      '      kind: Deployment',
      '      metadata: { name: web, namespace: shop }',
      '      spec:',
      '        replicas: 1',
      '        template:',
      '          spec:',
      '            containers:',
      '              - name: web',
      '                env:',
      '                  - name: DEBUG',
      '                    value: "true"',
      '  - target: { kind: ConfigMap, name: web-config, namespace: shop }',
      '    patch: |',
      '      apiVersion: v1',
      '      kind: ConfigMap',
      '      metadata: { name: web-config, namespace: shop }',
      '      data:',
      '        LOG_LEVEL: debug',
      '',
    ].join('\n'),
  );
  cases.push({
    name: 'examples/fleet global + envs/staging patches',
    strataRepo: join(staging, 'strata'),
    cluster: 'staging',
    labels: 'env=staging',
    kustomizeDir: overlay,
  });
  // A vendor manifest applied into one namespace.
  const vendor = join(WORK, 'vendor');
  mkdirSync(join(vendor, 'strata/vendor'), { recursive: true });
  writeFileSync(join(vendor, 'strata/vendor/install.yaml'), vendorManifest());
  writeFileSync(
    join(vendor, 'strata/strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: vendor\n    namespace: vendor\n',
  );
  mkdirSync(join(vendor, 'kustomize'), { recursive: true });
  cpSync(join(vendor, 'strata/vendor/install.yaml'), join(vendor, 'kustomize/install.yaml'));
  writeFileSync(
    join(vendor, 'kustomize/kustomization.yaml'),
    'namespace: vendor\nresources:\n  - install.yaml\n',
  );
  cases.push({
    name: 'vendor install.yaml (2 MB)',
    strataRepo: join(vendor, 'strata'),
    cluster: 'c',
    labels: 'env=prod',
    kustomizeDir: join(vendor, 'kustomize'),
  });
  return cases;
}

function renderBench(cases: RenderCase[], kustomize: string): boolean {
  let allWin = true;
  log('\n(a) strata render vs kustomize build, whole processes; Strata own = wall − node -e 0');
  for (const c of cases) {
    const node: number[] = [];
    const strata: number[] = [];
    const kz: number[] = [];
    const args = [STRATA, 'render', '--repo', c.strataRepo, '--cluster', c.cluster, '--labels', c.labels];
    time('node', args); // warm the file cache for both
    time(kustomize, ['build', c.kustomizeDir]);
    for (let i = 0; i < runs; i++) {
      node.push(time('node', ['-e', '0']).ms);
      strata.push(time('node', args).ms);
      kz.push(time(kustomize, ['build', c.kustomizeDir]).ms);
    }
    const own = median(strata.map((s, i) => s - node[i]!));
    const ratioOwn = median(kz) / own;
    const ratioWhole = median(kz) / median(strata);
    const needWhole = median(kz) > 100;
    const wins = ratioOwn > 1 && (!needWhole || ratioWhole > 1);
    allWin &&= wins;
    log(
      `  ${c.name}: node -e 0 ${median(node).toFixed(0)} ms, strata ${median(strata).toFixed(0)} ms (own ${own.toFixed(0)} ms), kustomize ${median(kz).toFixed(0)} ms → kustomize/strata-own ${ratioOwn.toFixed(2)}×, whole process ${ratioWhole.toFixed(2)}×${needWhole ? ' (kustomize > 100 ms: whole process counts)' : ''} ${wins ? 'WIN' : 'LOSS'}`,
    );
  }
  return allWin;
}

function planBench(kubeconfig: string, vendorRepo: string): boolean {
  log('\n(b) strata plan vs kubectl diff --server-side, vendor manifest, one lab cluster');
  const manifest = join(vendorRepo, 'vendor/install.yaml');
  const env = { KUBECONFIG: kubeconfig };
  spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'create', 'namespace', 'vendor'], { stdio: 'ignore' });
  const strataArgs = [
    STRATA,
    'plan',
    '--repo',
    vendorRepo,
    '--cluster',
    'c',
    '--labels',
    'env=prod',
    '--kubeconfig',
    kubeconfig,
  ];
  const kubectlArgs = ['--kubeconfig', kubeconfig, 'diff', '--server-side', '-n', 'vendor', '-f', manifest];
  timeAllowing(3, 'node', strataArgs, env);
  timeAllowing(1, 'kubectl', kubectlArgs, env);
  const strata: Timing[] = [];
  const kubectl: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    strata.push(timeAllowing(3, 'node', strataArgs, env));
    kubectl.push(timeAllowing(1, 'kubectl', kubectlArgs, env));
  }
  const wall = median(kubectl.map((t) => t.ms)) / median(strata.map((t) => t.ms));
  const cpu = median(kubectl.map((t) => t.cpuMs)) / median(strata.map((t) => t.cpuMs));
  log(
    `  strata plan ${median(strata.map((t) => t.ms)).toFixed(0)} ms wall, ${median(strata.map((t) => t.cpuMs)).toFixed(0)} ms CPU; kubectl diff --server-side ${median(kubectl.map((t) => t.ms)).toFixed(0)} ms wall, ${median(kubectl.map((t) => t.cpuMs)).toFixed(0)} ms CPU → kubectl/strata wall ${wall.toFixed(2)}×, CPU ${cpu.toFixed(2)}× (target 2×) ${wall >= 2 && cpu >= 2 ? 'WIN' : 'LOSS'}`,
  );
  return wall >= 2 && cpu >= 2;
}

const kustomize = toolPath('kustomize');
const cases = prepare();
let ok = values['plan-only'] ? true : renderBench(cases, kustomize);
if (values.kubeconfig)
  ok = planBench(values.kubeconfig, cases.find((c) => c.name.startsWith('vendor'))!.strataRepo) && ok;
else log('\n(b) skipped: pass --kubeconfig of a lab cluster (npm run lab -- up --clusters bench)');
log(ok ? '\nStrata wins every comparison.' : '\nStrata loses at least one comparison (see LOSS above).');
