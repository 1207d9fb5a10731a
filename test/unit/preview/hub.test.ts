import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewSummary, PreviewView } from '../../../contract/live-preview.js';
import type { ReportInput } from '../../../contract/report.js';
import { SILENT_SHOWN } from '../../../hub/src/api/preview-view.js';
import { COMMIT_A, COMMIT_B, makeReport, removeDir, startTestHub, type TestHub } from '../hub/helpers.js';

const REF = 'refs/pull/7/head';
const ENC = encodeURIComponent(REF);
let hub: TestHub;
const tokens: Record<string, string> = {};
const seqs: Record<string, number> = {};

const plan = (entries: { id: string; action: string; [k: string]: unknown }[]) => ({ entries });

async function report(cluster: string, labels: Record<string, string>, previews: ReportInput['previews']) {
  seqs[cluster] = (seqs[cluster] ?? 0) + 1;
  const res = await hub.post(tokens[cluster], {
    ...makeReport(cluster, seqs[cluster]!, { labels }),
    previews,
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}

async function getJson<T>(path: string): Promise<T> {
  const res = await hub.get(path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}
const viewOf = (ref: string) => getJson<PreviewView>(`/api/v1/previews/${encodeURIComponent(ref)}`);
const listOf = async (query = '') =>
  (await getJson<{ previews: PreviewSummary[] }>(`/api/v1/previews${query}`)).previews;

beforeAll(async () => {
  hub = await startTestHub();
  for (const c of ['prod-hz', 'prod-sh', 'edge-1', 'offline-1']) tokens[c] = (await hub.token(c)).token;
  const now = new Date().toISOString();
  await report('prod-hz', { region: 'cn-hangzhou' }, [
    {
      ref: REF,
      commit: COMMIT_B,
      state: 'open',
      plannedAt: now,
      plan: plan([
        {
          id: 'apps/Deployment/shop/web',
          action: 'conflict',
          changes: [{ path: '.spec.replicas', op: 'replace', before: 2, after: 3 }],
          conflicts: [{ field: '.spec.replicas', manager: 'kubectl-edit', message: 'conflict' }],
        },
        {
          id: '/Secret/shop/db',
          action: 'update',
          changes: [{ path: '.data.password', op: 'replace', redacted: true }],
        },
        { id: '/ConfigMap/shop/web-config', action: 'unchanged' },
      ]),
      error: null,
    },
  ]);
  await report('prod-sh', { region: 'cn-shanghai' }, [
    {
      ref: REF,
      commit: COMMIT_A,
      state: 'open',
      plannedAt: '2020-01-01T00:00:00Z',
      plan: plan([]),
      error: null,
    },
  ]);
  await report('edge-1', { region: 'cn-hangzhou', tier: 'edge' }, [
    {
      ref: REF,
      commit: COMMIT_B,
      state: 'open',
      plannedAt: now,
      plan: {
        entries: [],
        renderErrors: [
          { code: 'target', message: 'matches no object', file: 'clusters/edge-1/x.yaml', line: 3 },
        ],
      },
      error: {
        reason: 'RenderError',
        message: '1 render error(s); first: matches no object',
        file: 'clusters/edge-1/x.yaml',
        line: 3,
      },
    },
  ]);
});
afterAll(async () => {
  await hub?.close();
  if (hub) removeDir(hub.dir);
});

describe('hub previews', () => {
  it('shows every cluster for one PR: planned, failed with its location, stale against the head, not reported', async () => {
    const view = await viewOf(REF);
    expect(view.headCommit).toBe(COMMIT_B);
    const byName = Object.fromEntries(view.clusters.map((c) => [c.name, c]));
    expect(byName['prod-hz']!.state).toBe('planned');
    expect(byName['prod-hz']!.counts).toEqual({ conflict: 1, update: 1, unchanged: 1 });
    expect(byName['prod-hz']!.entries.map((e) => e.id)).toEqual([
      'apps/Deployment/shop/web',
      '/Secret/shop/db',
    ]);
    expect(byName['edge-1']).toMatchObject({
      state: 'failed',
      error: { file: 'clusters/edge-1/x.yaml', line: 3 },
    });
    expect(byName['prod-sh']!.state).toBe('stale');
    expect(byName['offline-1']!.state).toBe('notReported');
    expect(view.counts).toEqual({ planned: 1, failed: 1, stale: 1, notReported: 1, closed: 0 });
  });

  it('lists open PRs with their change counts', async () => {
    const previews = await listOf();
    expect(previews).toHaveLength(1);
    expect(previews[0]).toMatchObject({
      ref: REF,
      state: 'open',
      headCommit: COMMIT_B,
      changes: { conflict: 1, update: 1 },
    });
  });

  it('renders the PR comment with the conflict, a hidden Secret value and the render error location', async () => {
    const res = await hub.get(`/api/v1/previews/${ENC}/markdown`);
    expect(res.headers.get('content-type')).toContain('text/markdown');
    const text = await res.text();
    expect(text).toContain('| offline-1 | – | – | – | – | – | not reported |');
    expect(text).toContain('conflict: `.spec.replicas` is owned by `kubectl-edit`');
    expect(text).toContain('`.data.password`: _(secret, hidden)_');
    expect(text).toContain('`clusters/edge-1/x.yaml:3`');
  });

  it('serves the PR page with every cluster, escaping what reports contain', async () => {
    const res = await hub.get(`/previews/${ENC}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    for (const name of ['prod-hz', 'prod-sh', 'edge-1', 'offline-1'])
      expect(page).toContain(`data-cluster="${name}"`);
    expect(page).toContain('kubectl-edit');
  });

  it('refuses a ref that is not one and answers 404 for an unknown one', async () => {
    expect((await hub.get(`/api/v1/previews/${encodeURIComponent('../etc')}`)).status).toBe(400);
    expect((await hub.get(`/api/v1/previews/${encodeURIComponent('refs/pull/99/head')}`)).status).toBe(404);
  });

  it('drops a closed PR from the open list and links a merged one to its commit rollout', async () => {
    await report('prod-hz', { region: 'cn-hangzhou' }, [
      { ref: REF, commit: COMMIT_B, state: 'closed', plan: null, error: null, mergedAs: COMMIT_B },
    ]);
    expect(await listOf()).toEqual([]);
    const closed = await listOf('?state=closed');
    expect(closed.map((p) => p.ref)).toEqual([REF]);
    const view = await viewOf(REF);
    expect(view).toMatchObject({ state: 'closed', mergedAs: COMMIT_B });
    const page = await (await hub.get(`/previews/${ENC}`)).text();
    expect(page).toContain(`href="/commits/${COMMIT_B}"`);
  });

  it('counts every silent cluster but lists only the first SILENT_SHOWN of a large fleet', async () => {
    for (let i = 0; i < SILENT_SHOWN + 20; i++) await hub.token(`quiet-${String(i).padStart(3, '0')}`);
    const view = await viewOf(REF);
    const silent = SILENT_SHOWN + 20 + 1;
    expect(view.total).toBe(3 + silent);
    expect(view.counts.notReported).toBe(silent);
    const listed = view.clusters.filter((c) => c.state === 'notReported').map((c) => c.name);
    expect(listed).toHaveLength(SILENT_SHOWN);
    // The first by name: offline-1, then quiet-000 to quiet-098.
    expect([listed[0], listed[1], listed.at(-1)]).toEqual(['offline-1', 'quiet-000', 'quiet-098']);
    expect(view.clusters.filter((c) => c.state !== 'notReported')).toHaveLength(3);
  });
});
