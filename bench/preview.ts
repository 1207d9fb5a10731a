/**
 * Offline preview benchmark: a fleet repository of 5,000 objects (global layer plus one patch
 * layer per region), a pull request touching one region and a few global objects, previewed for
 * 100 clusters. Both refs are real commits of a real Git repository read through GitTree.
 *
 *   npm run bench:preview [-- --clusters 100 --objects 5000] [--tools-only]
 * Target: under 10 s for 100 clusters x 5,000 objects.
 *
 * Then the same 100 clusters over a fleet whose layers hold a 30-template Helm chart (values per
 * region) and a kustomize overlay, rendered by the real helm and kustomize: distinct renders, tool
 * processes started and wall time, against one process pair per cluster and ref (what rendering
 * each cluster on its own costs), timed in the same run.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatJson, formatMarkdown, previewFleet } from '../agent/src/preview/index.js';
import { createRenderTools } from '../agent/src/render-tools/index.js';
import { openGitTree } from '../agent/src/source/git-tree.js';
import { commitFolder, createRepo } from '../test/git/index.js';
import { toolPath } from '../test/support/tools.js';
import { toolClusters, writeToolsFleet } from './lib/tools-fleet.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    objects: { type: 'string', default: '5000' },
    /** Keep the generated repository here (for profiling) instead of a temporary folder. */
    keep: { type: 'string' },
    /** `global`: the PR touches global objects and one region (every cluster changes); `region`: one region only. */
    change: { type: 'string', default: 'global' },
    /** Only the chart-and-overlay fleet. */
    'tools-only': { type: 'boolean', default: false },
  },
});
const CLUSTERS = Number(values.clusters);
const GLOBAL_CHANGE = values.change !== 'region';
const OBJECTS = Number(values.objects);
const REGIONS = ['eu', 'us', 'ap', 'sa', 'af'];
const PER_FILE = 100;

function deployment(i: number, tag: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: team-${i % 20}
  labels: { app: app-${i}, cluster: "\${cluster.name}" }
spec:
  replicas: 2
  selector: { matchLabels: { app: app-${i} } }
  template:
    metadata: { labels: { app: app-${i} } }
    spec:
      containers:
        - name: app
          image: registry.example.com/app-${i}:${tag}
          ports: [{ containerPort: 8080 }]
          env: [{ name: REGION, value: "\${cluster.labels.region}" }]
          resources: { requests: { cpu: 50m, memory: 64Mi } }
`;
}

function configMap(i: number, level: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-${i}
  namespace: team-${i % 20}
data:
  LOG_LEVEL: ${level}
  OWNER: team-${i % 20}
`;
}

/** Writes the fleet; `pr` is the pull request's version. */
async function writeFleet(dir: string, pr: boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'global'), { recursive: true });
  await writeFile(
    path.join(dir, 'strata.yaml'),
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n  - path: clusters/{name}\n',
  );
  for (let f = 0; f * PER_FILE < OBJECTS; f++) {
    const docs: string[] = [];
    for (let i = f * PER_FILE; i < Math.min(OBJECTS, (f + 1) * PER_FILE); i++) {
      // The PR bumps every 500th app and changes every 250th config.
      docs.push(
        i % 2 === 0
          ? deployment(i, pr && GLOBAL_CHANGE && i % 500 === 0 ? '2.0' : '1.0')
          : configMap(i, pr && GLOBAL_CHANGE && i % 250 === 1 ? 'debug' : 'info'),
      );
    }
    await writeFile(path.join(dir, 'global', `apps-${String(f).padStart(3, '0')}.yaml`), docs.join('---\n'));
  }
  for (const region of REGIONS) {
    await mkdir(path.join(dir, 'regions', region), { recursive: true });
    const replicas = pr && region === 'eu' ? 4 : 3;
    await writeFile(
      path.join(dir, 'regions', region, 'scale.yaml'),
      `apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: Deployment, name: app-0, namespace: team-0 }\nmerge: { spec: { replicas: ${replicas} } }\n`,
    );
  }
}

async function main(): Promise<void> {
  const root = values.keep ?? (await mkdtemp(path.join(tmpdir(), 'strata-bench-preview-')));
  try {
    const repo = await createRepo(root, 'fleet');
    const work = path.join(root, 'work');
    await writeFleet(work, false);
    const base = await commitFolder(repo, work, { message: 'base' });
    await writeFleet(work, true);
    const head = await commitFolder(repo, work, { branch: 'pr', parent: base, message: 'pr' });
    const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({
      name: `cluster-${String(i).padStart(3, '0')}`,
      labels: { region: REGIONS[i % REGIONS.length]!, env: 'prod' },
    }));
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    const preview = await previewFleet({
      base: { ref: 'main', commit: base, tree: await openGitTree({ fs, gitdir: repo.dir, commit: base }) },
      head: { ref: 'pr', commit: head, tree: await openGitTree({ fs, gitdir: repo.dir, commit: head }) },
      clusters,
    });
    const rendered = performance.now();
    const markdown = formatMarkdown(preview);
    const json = formatJson(preview);
    const done = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const changed = preview.clusters.filter((c) => c.status === 'changed').length;
    const objects = preview.clusters.reduce((n, c) => n + c.objects.length, 0);
    const seconds = (done - began) / 1000;
    console.log(
      `offline preview (${GLOBAL_CHANGE ? 'PR changes global objects and one region' : 'PR changes one region'}): ${CLUSTERS} clusters x ${OBJECTS} objects`,
    );
    console.log(`  render + diff   ${((rendered - began) / 1000).toFixed(2)} s`);
    console.log(
      `  markdown + json ${((done - rendered) / 1000).toFixed(2)} s (${markdown.length} + ${json.length} chars)`,
    );
    console.log(
      `  total           ${seconds.toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU  (target < 10 s: ${seconds < 10 ? 'met' : 'MISSED'})`,
    );
    console.log(
      `  machine load    ${os.loadavg()[0]!.toFixed(1)} (1-min average, ${os.cpus().length} cores): other work shares the CPU`,
    );
    console.log(
      `  ${changed} clusters changed, ${objects} object changes, ${((CLUSTERS * OBJECTS) / seconds) | 0} cluster-objects previewed/s`,
    );
    console.log(`  peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    if (!values.keep) await rm(root, { recursive: true, force: true });
    else console.log(`  repository kept in ${root}/fleet.git (main, pr)`);
  }
}

/** The chart-and-overlay fleet previewed for every cluster, through one runner as `strata preview` does. */
async function toolsPreview(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'strata-bench-preview-tools-'));
  try {
    const repo = await createRepo(root, 'fleet');
    const work = path.join(root, 'work');
    await writeToolsFleet(work, false);
    const base = await commitFolder(repo, work, { message: 'base' });
    await writeToolsFleet(work, true);
    const head = await commitFolder(repo, work, { branch: 'pr', parent: base, message: 'pr' });
    const binaries = { kustomize: toolPath('kustomize'), helm: toolPath('helm') };
    // The peer: one `helm template` and one `kustomize build` of a cluster, as rendering each cluster alone does.
    const peerStart = performance.now();
    const peerRuns = 3;
    for (let i = 0; i < peerRuns; i++) {
      execFileSync(
        binaries.helm,
        ['template', 'app', path.join(work, 'charts/app'), '--namespace', 'apps', '--set', 'region=eu'],
        { stdio: 'ignore' },
      );
      execFileSync(binaries.kustomize, ['build', path.join(work, 'global/edge')], { stdio: 'ignore' });
    }
    const peerPair = (performance.now() - peerStart) / peerRuns / 1000;
    const tools = createRenderTools({ binaries, env: {}, stateDir: path.join(root, 'state') });
    const clusters = toolClusters(CLUSTERS);
    const began = performance.now();
    const preview = await previewFleet({
      base: { ref: 'main', commit: base, tree: await openGitTree({ fs, gitdir: repo.dir, commit: base }) },
      head: { ref: 'pr', commit: head, tree: await openGitTree({ fs, gitdir: repo.dir, commit: head }) },
      clusters,
      tools,
    });
    const seconds = (performance.now() - began) / 1000;
    const failed = preview.clusters.filter((c) => c.status === 'failed').length;
    const changed = preview.clusters.filter((c) => c.status === 'changed').length;
    const { processes, cacheHits } = tools.runner.stats;
    const perCluster = 2 * CLUSTERS * peerPair;
    console.log(
      `offline preview with a ${30}-template Helm chart and a kustomize overlay: ${CLUSTERS} clusters`,
    );
    console.log(`  ${changed} clusters changed, ${failed} failed`);
    console.log(
      `  tool runs asked ${processes + cacheHits}, distinct renders ${processes}, tool processes started ${processes}`,
    );
    console.log(`  total           ${seconds.toFixed(2)} s wall`);
    console.log(
      `  peer            one helm template + kustomize build per cluster and ref: ${peerPair.toFixed(2)} s x ${2 * CLUSTERS} = ${perCluster.toFixed(1)} s (Strata ${(perCluster / seconds).toFixed(1)}x faster)`,
    );
    console.log(
      `  machine load    ${os.loadavg()[0]!.toFixed(1)} (1-min average, ${os.cpus().length} cores)`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (!values['tools-only']) await main();
await toolsPreview();
