/**
 * Render benchmark: Strata vs kustomize on a 5,000-object fleet with region and cluster patches.
 *
 *   npm run bench:render [-- --apps 1250 --regions 5 --clusters 100 --runs 1 --kustomize-sample 2]
 *
 * (a) one cluster: a whole `strata render` process vs `kustomize build` of the equivalent overlay;
 * (b) every cluster: one Strata process (each layer parsed once, as a PR preview does) vs one
 *     `kustomize build` per cluster.
 * Both tools must produce the same objects for every cluster, or the benchmark fails.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { type KubeObject, objectId } from '../agent/src/model/object.js';
import { toolPath } from '../test/support/tools.js';
import { type BenchCluster, clustersOf, type FleetShape, writeBenchFleet } from './lib/render-fleet.js';

const ROOT = new URL('..', import.meta.url).pathname;
const WORK = join(ROOT, 'bench/.work');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const log = (line: string) => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '1250' },
    regions: { type: 'string', default: '5' },
    clusters: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    'kustomize-sample': { type: 'string', default: '2' },
  },
});
const shape: FleetShape = {
  apps: Number(values.apps),
  regions: Number(values.regions),
  clusters: Number(values.clusters),
  patchesPerCluster: 3,
};
const runs = Number(values.runs);
/** kustomize needs minutes per build of 5,000 objects here, so (b) times a sample of its builds and scales up. */
const kustomizeSample = Number(values['kustomize-sample']);

interface Timing {
  /** Wall-clock time. */
  ms: number;
  /** CPU time (user + system) of the command and its children: steadier than wall time on a busy machine. */
  cpuMs: number;
}

const cpuOf = (times: string) => {
  // `times` prints the shell's then the children's user and system time, e.g. `0m1.234s 0m0.100s`.
  const children = times.trim().split('\n').at(-1) ?? '';
  return [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
};

/** Runs a command with stdout written to `stdoutFile`; returns its wall and CPU time. */
function timed(cmd: string, args: string[], stdoutFile: string): Timing {
  const started = performance.now();
  const run = spawnSync(
    'bash',
    ['-c', 'out="$1"; shift; "$@" > "$out" || exit $?; times >&2', 'timed', stdoutFile, cmd, ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return { ms, cpuMs: cpuOf(run.stderr) };
}

const median = (xs: Timing[]) => [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)]!;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const both = (t: Timing) => `${sec(t.ms).padStart(9)} wall  ${sec(t.cpuMs).padStart(9)} CPU`;

/** Every object of a YAML stream by identity, keys sorted so only content matters. */
function objectsOf(yaml: string): Map<string, string> {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  const objects = new Map<string, string>();
  for (const doc of parseAllDocuments(yaml) as { toJS(): KubeObject | null }[]) {
    const o = doc.toJS();
    if (o) objects.set(objectId(o), JSON.stringify(canonical(o)));
  }
  return objects;
}

/** Differences between two renders of one cluster, empty when they hold the same objects. */
function compare(strataYaml: string, kustomizeYaml: string): string[] {
  const a = objectsOf(strataYaml);
  const b = objectsOf(kustomizeYaml);
  const problems: string[] = [];
  if (a.size !== b.size) problems.push(`strata has ${a.size} objects, kustomize ${b.size}`);
  for (const [id, json] of a) {
    const other = b.get(id);
    if (other === undefined) problems.push(`${id}: only in strata`);
    else if (other !== json) problems.push(`${id}: differs\n  strata:    ${json}\n  kustomize: ${other}`);
  }
  return problems;
}

function main() {
  const kustomize = toolPath('kustomize');
  const fleet = writeBenchFleet(join(WORK, 'render-fleet'), shape);
  const clusters = clustersOf(shape);
  const objects = shape.apps * 4;
  log(
    `fleet: ${objects} objects in global/, ${shape.regions} region patches, ${shape.clusters} clusters × ${shape.patchesPerCluster} container patches`,
  );
  const strataOut = join(WORK, 'render-one.strata.yaml');
  const kustomizeOut = join(WORK, 'render-one.kustomize.yaml');
  const build = (cluster: BenchCluster) =>
    timed(kustomize, ['build', join(fleet.kustomize, 'clusters', cluster.name)], kustomizeOut);
  const problems: string[] = [];

  // (a) One cluster, each tool as a whole process, after one warm-up run of Strata (tsx's transform cache).
  const one = clusters[0]!;
  const strataArgs = [
    join(ROOT, 'agent/src/cli.ts'),
    'render',
    '--repo',
    fleet.strata,
    '--cluster',
    one.name,
    '--labels',
    `region=${one.labels.region}`,
  ];
  timed(TSX, strataArgs, strataOut);
  const strataTimes: Timing[] = [];
  const kustomizeTimes: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    strataTimes.push(timed(TSX, strataArgs, strataOut));
    log(`  strata render ${one.name}: ${both(strataTimes.at(-1)!)}`);
    kustomizeTimes.push(build(one));
    log(`  kustomize build ${one.name}: ${both(kustomizeTimes.at(-1)!)}`);
  }
  const firstCheck = compare(readFileSync(strataOut, 'utf8'), readFileSync(kustomizeOut, 'utf8'));
  log(
    `  ${one.name}: ${firstCheck.length === 0 ? 'same objects from both tools' : `${firstCheck.length} differences`}`,
  );
  problems.push(...firstCheck.map((d) => `${one.name}: ${d}`));

  // (b) Every cluster: one Strata process vs one kustomize build per cluster (a sample, scaled up).
  const outDir = join(WORK, 'render-all');
  rmSync(outDir, { recursive: true, force: true });
  const allOut = join(WORK, 'render-all.json');
  const sampleClusters = Array.from({ length: Math.min(kustomizeSample, clusters.length) }, (_, k) => {
    const step = Math.max(1, Math.floor(clusters.length / Math.max(1, kustomizeSample)));
    return clusters[Math.min(k * step, clusters.length - 1)]!;
  });
  const all = timed(
    TSX,
    [
      join(ROOT, 'bench/lib/render-all.ts'),
      fleet.strata,
      join(fleet.strata, 'clusters.yaml'),
      outDir,
      sampleClusters.map((c) => c.name).join(','),
    ],
    allOut,
  );
  const inner = JSON.parse(readFileSync(allOut, 'utf8')) as { renderMs: number; serializeMs: number };
  log(`  strata, all ${clusters.length} clusters in one process: ${both(all)}`);
  const sample = [kustomizeTimes[0]!];
  for (const cluster of sampleClusters.slice(1)) {
    sample.push(build(cluster));
    log(`  kustomize build ${cluster.name}: ${both(sample.at(-1)!)}`);
    const diff = compare(
      readFileSync(join(outDir, `${cluster.name}.yaml`), 'utf8'),
      readFileSync(kustomizeOut, 'utf8'),
    );
    log(
      `  ${cluster.name}: ${diff.length === 0 ? 'same objects from both tools' : `${diff.length} differences`}`,
    );
    problems.push(...diff.map((d) => `${cluster.name}: ${d}`));
  }
  const strataOne = readFileSync(join(outDir, `${one.name}.yaml`), 'utf8');
  if (strataOne !== readFileSync(strataOut, 'utf8'))
    problems.push(`${one.name}: one-process render differs from strata render`);
  rmSync(outDir, { recursive: true, force: true });
  const perBuild = {
    ms: sample.reduce((s, t) => s + t.ms, 0) / sample.length,
    cpuMs: sample.reduce((s, t) => s + t.cpuMs, 0) / sample.length,
  };
  const kustomizeAll = { ms: perBuild.ms * clusters.length, cpuMs: perBuild.cpuMs * clusters.length };

  const a = { strata: median(strataTimes), kustomize: median(kustomizeTimes) };
  log('');
  log(`(a) one cluster (${objects} objects), whole process, median of ${runs}:`);
  log(`    strata render    ${both(a.strata)}`);
  log(`    kustomize build  ${both(a.kustomize)}`);
  log(
    `    kustomize / strata = ${(a.kustomize.ms / a.strata.ms).toFixed(1)}× wall, ${(a.kustomize.cpuMs / a.strata.cpuMs).toFixed(1)}× CPU  (target ≥ 1×)`,
  );
  log(`(b) ${clusters.length} clusters:`);
  log(
    `    strata, one process     ${both(all)}  (in-process render ${sec(inner.renderMs)}; objects kept in memory as a preview does, YAML written only for the ${sampleClusters.length} compared clusters: ${sec(inner.serializeMs)})`,
  );
  const scaled =
    sample.length < clusters.length
      ? `  (${sample.length} builds measured, scaled to ${clusters.length})`
      : '';
  log(`    kustomize, ${clusters.length} builds   ${both(kustomizeAll)}${scaled}`);
  log(
    `    kustomize / strata = ${(kustomizeAll.ms / all.ms).toFixed(1)}× wall, ${(kustomizeAll.cpuMs / all.cpuMs).toFixed(1)}× CPU  (target ≥ 10×)`,
  );
  if (problems.length > 0) {
    log(`\nOUTPUTS DIFFER in ${problems.length} places; first ones:\n${problems.slice(0, 5).join('\n')}`);
    process.exitCode = 1;
  } else {
    log(
      `\nsame objects from both tools for the ${sample.length} clusters built by both (${objects} objects each)`,
    );
  }
}

main();
