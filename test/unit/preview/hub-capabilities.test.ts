// `strata preview --hub` renders HelmCharts with each cluster's Kubernetes version and API versions
// from its latest report at a real hub (SQLite, loopback), as its agent would; the flags override
// them; a cluster whose report has none renders with helm's defaults and is named on stderr. And
// the agent's side: a report carries what discovery found, and the hub keeps it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import preview from '../../../agent/src/commands/preview.js';
import { cachedCapabilities } from '../../../agent/src/render-tools/capabilities.js';
import { buildReport } from '../../../agent/src/report/build.js';
import { parseReport } from '../../../contract/report.js';
import { commitFiles, createRepo, type TestRepo } from '../../git/index.js';
import { toolPath } from '../../support/tools.js';
import { makeReport, removeDir, startTestHub, type TestHub } from '../hub/helpers.js';

const FLEET = {
  'strata.yaml': 'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n',
  'global/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: mon }\n',
};
/** A chart that names its ConfigMap after the Kubernetes version and adds one only where an API is served. */
const CHART = {
  'charts/probe/Chart.yaml': 'apiVersion: v2\nname: probe\nversion: 1.0.0\n',
  'charts/probe/templates/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: kube-{{ .Capabilities.KubeVersion.Major }}-{{ .Capabilities.KubeVersion.Minor | trimSuffix "+" }} }
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
---
apiVersion: v1
kind: ConfigMap
metadata: { name: has-prometheus-operator }
{{- end }}
`,
  'global/probe.yaml':
    'apiVersion: strata.dev/v1\nkind: HelmChart\nmetadata: { name: probe, namespace: mon }\nchart: { path: charts/probe }\n',
};

let hub: TestHub;
let root: string;
let repo: TestRepo;
const previousHelm = process.env.STRATA_HELM;

beforeAll(async () => {
  process.env.STRATA_HELM = toolPath('helm');
  hub = await startTestHub();
  const labels = { env: 'prod' };
  const withKube = makeReport('new-agent', 1, { labels });
  const kube = { version: 'v1.29.3', apiVersions: ['apps/v1', 'monitoring.coreos.com/v1', 'v1'] };
  for (const [report, name] of [
    [{ ...withKube, kube }, 'new-agent'],
    [makeReport('old-agent', 1, { labels }), 'old-agent'],
  ] as const) {
    const { token } = await hub.token(name);
    expect((await hub.post(token, report)).status).toBe(200);
  }
  root = await mkdtemp(path.join(tmpdir(), 'strata-preview-caps-'));
  repo = await createRepo(root, 'fleet');
  const base = await commitFiles(repo, FLEET, { message: 'base' });
  await commitFiles(repo, CHART, { branch: 'pr', parent: base, message: 'a chart' });
});

afterAll(async () => {
  if (previousHelm === undefined) delete process.env.STRATA_HELM;
  else process.env.STRATA_HELM = previousHelm;
  await hub?.stop();
  if (hub) removeDir(hub.dir);
  await rm(root, { recursive: true, force: true });
});

async function run(extra: string[] = []) {
  const out = path.join(root, `preview-${Math.random().toString(36).slice(2)}.json`);
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    chunks.push(String(c));
    return true;
  });
  let code: number;
  try {
    code = await preview([
      ...['--repo', repo.dir, '--base', 'main', '--head', 'pr', '--hub', hub.url],
      ...['--format', 'json', '--out', out, ...extra],
    ]);
  } finally {
    spy.mockRestore();
  }
  const doc = JSON.parse(await readFile(out, 'utf8')) as {
    clusters: { cluster: { name: string }; objects: { id: string; action: string }[] }[];
  };
  const created = (name: string) =>
    doc.clusters
      .find((c) => c.cluster.name === name)
      ?.objects.filter((o) => o.action === 'create')
      .map((o) => o.id)
      .sort();
  return { code, stderr: chunks.join(''), created };
}

describe('strata preview --hub: chart capabilities from the reports', { timeout: 120_000 }, () => {
  it("renders each cluster's charts with the versions its latest report gives", async () => {
    const { code, stderr, created } = await run();
    expect(code).toBe(0);
    expect(created('new-agent')).toEqual([
      '/ConfigMap/mon/has-prometheus-operator',
      '/ConfigMap/mon/kube-1-29',
    ]);
    // No versions reported: helm's defaults (the Kubernetes it was built against), and it is said.
    expect(created('old-agent')).toHaveLength(1);
    expect(created('old-agent')![0]).toMatch(/^\/ConfigMap\/mon\/kube-1-\d+$/);
    expect(created('old-agent')![0]).not.toBe('/ConfigMap/mon/kube-1-29');
    expect(stderr).toBe(
      "strata preview: 1 cluster(s) reported no Kubernetes version to the hub, so their charts render with helm's defaults: old-agent\n",
    );
  });

  it('takes the flags over the reports, for every cluster', async () => {
    const { code, stderr, created } = await run([
      '--kube-version',
      'v1.31.0',
      '--api-versions',
      'v1,apps/v1',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const name of ['new-agent', 'old-agent'])
      expect(created(name)).toEqual(['/ConfigMap/mon/kube-1-31']);
  });
});

describe("the agent's report", () => {
  it('carries the last discovered versions once there are any, and the hub keeps them', async () => {
    const caps = cachedCapabilities(async () => ({ kubeVersion: 'v1.36.3', apiVersions: ['apps/v1', 'v1'] }));
    const identity = { name: 'reporter', labels: { env: 'prod' } };
    const agent = { version: '0.1.0', startedAt: new Date().toISOString() };
    const before = buildReport(identity, agent, [], [], 1, new Date(), caps.latest());
    expect(before.kube).toBeUndefined();
    await caps();
    const after = buildReport(identity, agent, [], [], 2, new Date(), caps.latest());
    expect(after.kube).toEqual({ version: 'v1.36.3', apiVersions: ['apps/v1', 'v1'] });
    expect(parseReport(after).ok).toBe(true);
    const { token } = await hub.token('reporter');
    expect((await hub.post(token, after)).status).toBe(200);
    const detail = (await (await hub.get('/api/v1/clusters/reporter')).json()) as {
      report: { kube?: unknown };
    };
    expect(detail.report.kube).toEqual(after.kube);
  });

  it('refuses a report with more API versions than the contract bounds', () => {
    const report = buildReport(
      { name: 'x', labels: {} },
      { version: '0', startedAt: new Date().toISOString() },
      [],
      [],
      1,
      new Date(),
    );
    const huge = {
      ...report,
      kube: { version: 'v1.36.3', apiVersions: Array.from({ length: 1001 }, (_, i) => `g${i}/v1`) },
    };
    expect(parseReport(huge).ok).toBe(false);
  });
});
