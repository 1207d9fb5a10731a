import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewView } from '../../contract/live-preview.js';
import { commitFiles, setRef, type TestRepo } from '../git/index.js';
import type { TestHub } from '../unit/hub/helpers.js';
import { type AgentProcess, waitFor } from './agent-harness.js';
import { type PreviewLab, previewAgent, startPreviewLab, stopPreviewLab } from './support/preview-lab.js';
import { labClient } from './sync-fixtures.js';

const NS = 'preview-attack-e2e';
const VICTIM_NS = 'preview-attack-victim';
const PARENT_NS = 'strata-preview-attack-e2e';
const REF = 'refs/pull/66/head';
const LIVE_SECRET = 'live-value-the-pr-must-never-see-4711';
const READ_TOKEN = 'read-token-for-the-attack-test';

const main = `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: app, namespace: ${NS} }
data: { color: blue }
`;

// The PR changes its own ConfigMap, and declares the victim's with a different value.
const pr = `${main.replace('color: blue', 'color: green')}---
apiVersion: v1
kind: ConfigMap
metadata: { name: target, namespace: ${VICTIM_NS} }
data:
  password: guessed
  note: probing
---
apiVersion: v1
kind: ConfigMap
metadata: { name: brand-new, namespace: ${NS} }
data: { fresh: "yes" }
`;

let lab: PreviewLab;
let repo: TestRepo;
let hub: TestHub;
let agent: AgentProcess | undefined;

const auth = { authorization: `Bearer ${READ_TOKEN}` };

beforeAll(async () => {
  lab = await startPreviewLab('preview-attack', [PARENT_NS, VICTIM_NS], {
    settings: { readToken: READ_TOKEN },
  });
  ({ repo, hub } = lab);
  const base = await commitFiles(repo, { 'global/app.yaml': main });
  const head = await commitFiles(repo, { 'global/app.yaml': pr }, { branch: 'pr-66', parent: base });
  await setRef(repo, REF, head);
  const client = labClient('hz');
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'target', namespace: VICTIM_NS, labels: { owner: 'someone-else' } },
      data: { password: LIVE_SECRET, other: `${LIVE_SECRET}-2` },
    },
    { fieldManager: 'another-team', force: true },
  );
});

afterAll(() => stopPreviewLab(lab, agent, [NS, PARENT_NS, VICTIM_NS]), 120_000);

describe('a pull request trying to read an object it does not own', () => {
  it('gets nothing of its live values from the hub API, page or Markdown', async () => {
    // The operator opened previews to every PR: the plan guard is then all that stands between
    // a stranger's PR and the cluster's live values.
    agent = await previewAgent(lab, PARENT_NS, { trust: 'everyone' });
    const url = `/api/v1/previews/${encodeURIComponent(REF)}`;
    const view = await waitFor(
      'the hub to show the PR planned by prod-hz',
      async () => {
        const res = await hub.get(url, auth);
        if (res.status !== 200) return undefined;
        const v = (await res.json()) as PreviewView;
        return v.clusters.find((c) => c.name === 'prod-hz')?.state === 'planned' ? v : undefined;
      },
      150_000,
    );
    const entries = view.clusters.find((c) => c.name === 'prod-hz')!.entries as Record<string, unknown>[];
    const byId = new Map(entries.map((e) => [e.id, e]));
    // The PR's change to a managed object is shown field by field.
    expect(byId.get(`/ConfigMap/${NS}/app`)).toMatchObject({
      action: 'update',
      changes: [expect.objectContaining({ path: '.data.color', before: 'blue', after: 'green' })],
    });
    // The victim: only that the PR would take it over.
    const victim = byId.get(`/ConfigMap/${VICTIM_NS}/target`);
    expect(victim).toMatchObject({
      action: 'takeover',
      note: expect.stringContaining('not managed by Strata'),
    });
    expect(victim).not.toHaveProperty('changes');
    expect(victim).not.toHaveProperty('conflicts');
    expect(byId.get(`/ConfigMap/${NS}/brand-new`)).toMatchObject({ action: 'create' });

    const api = JSON.stringify(view);
    const markdown = await (await hub.get(`${url}/markdown`, auth)).text();
    const page = await (await hub.get(`/previews/${encodeURIComponent(REF)}`, auth)).text();
    for (const [where, text] of [
      ['API', api],
      ['Markdown', markdown],
      ['page', page],
    ] as const) {
      expect(text, where).toContain('target');
      expect(text, where).not.toContain(LIVE_SECRET);
      expect(text, where).not.toContain('another-team');
      expect(text, where).not.toContain('someone-else');
    }
    // Without the read token the hub answers nothing at all.
    expect((await hub.get(url)).status).toBe(401);
    expect((await hub.get(`${url}/markdown`)).status).toBe(401);

    // And the victim is untouched: a preview never applies.
    const live = await labClient('hz').get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: VICTIM_NS,
      name: 'target',
    });
    expect((live?.data as Record<string, string> | undefined)?.password).toBe(LIVE_SECRET);
  }, 240_000);
});
