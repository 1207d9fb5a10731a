// The real `strata agent` process with a `previewRefs` pattern: it syncs the main branch, plans
// the open pull-request ref against its real cluster without applying it, and the hub shows it.
// The preview policy trusts one SSH signing key: a PR whose head is signed by it is dry-run; an
// unsigned PR and one signed by a stranger's key are refused without a plan, so a stranger cannot
// make the fleet's agents dry-run their manifests.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewView } from '../../contract/live-preview.js';
import { commitFiles, git as runGit, setRef, type TestRepo } from '../git/index.js';
import { keygen, type SshKeyPair } from '../git/sshd.js';
import type { TestHub } from '../unit/hub/helpers.js';
import { type AgentProcess, waitFor } from './agent-harness.js';
import { type PreviewLab, previewAgent, startPreviewLab, stopPreviewLab } from './support/preview-lab.js';
import { labClient } from './sync-fixtures.js';

const NS = 'preview-agent-e2e';
const PARENT_NS = 'strata-preview-agent-e2e';
const REF = 'refs/pull/42/head';
const UNSIGNED = 'refs/pull/43/head';
const STRANGER = 'refs/pull/44/head';

const cm = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: registry.example/web:1 }]
`;

let lab: PreviewLab;
let tmp: string;
let repo: TestRepo;
let hub: TestHub;
let agent: AgentProcess | undefined;
let trusted: SshKeyPair;
let stranger: SshKeyPair;

/** `commit`'s tree again on top of it, signed with an SSH key by the real git (gpg.format=ssh). */
async function signed(commit: string, key: SshKeyPair): Promise<string> {
  const tree = await runGit(['rev-parse', `${commit}^{tree}`], { cwd: repo.dir });
  return runGit(
    [
      '-c',
      'gpg.format=ssh',
      '-c',
      `user.signingkey=${key.privateKey}`,
      'commit-tree',
      '-S',
      '-p',
      commit,
    ].concat(['-m', 'signed', tree]),
    { cwd: repo.dir },
  );
}

beforeAll(async () => {
  lab = await startPreviewLab('preview-agent', [PARENT_NS]);
  ({ tmp, repo, hub } = lab);
  const base = await commitFiles(repo, { 'global/web.yaml': cm(1) });
  trusted = keygen(path.join(tmp, 'keys'), 'reviewer');
  stranger = keygen(path.join(tmp, 'keys'), 'stranger');
  await writeFile(path.join(tmp, 'preview-signers'), `reviewer@strata.invalid ${trusted.publicKey}\n`);
  const head = await commitFiles(repo, { 'global/web.yaml': cm(4) }, { branch: 'pr-42', parent: base });
  await setRef(repo, REF, await signed(head, trusted));
  const unsigned = await commitFiles(repo, { 'global/web.yaml': cm(5) }, { branch: 'pr-43', parent: base });
  await setRef(repo, UNSIGNED, unsigned);
  const foreign = await commitFiles(repo, { 'global/web.yaml': cm(6) }, { branch: 'pr-44', parent: base });
  await setRef(repo, STRANGER, await signed(foreign, stranger));
  await hub.token('offline-1');
});

afterAll(() => stopPreviewLab(lab, agent, [NS, PARENT_NS]), 120_000);

describe('strata agent with previewRefs', () => {
  it("reports a dry-run plan of the signed PR to the hub, refuses unsigned and strangers' PRs, applies only main", async () => {
    agent = await previewAgent(lab, PARENT_NS, { keys: [path.join(tmp, 'preview-signers')] });
    const view = await waitFor(
      'the hub to show the PR planned by prod-hz',
      async () => {
        const res = await hub.get(`/api/v1/previews/${encodeURIComponent(REF)}`);
        if (res.status !== 200) return undefined;
        const v = (await res.json()) as PreviewView;
        return v.clusters.find((c) => c.name === 'prod-hz')?.state === 'planned' ? v : undefined;
      },
      120_000,
    );
    const hz = view.clusters.find((c) => c.name === 'prod-hz')!;
    expect(hz.entries).toEqual([
      expect.objectContaining({
        id: `apps/Deployment/${NS}/web`,
        action: 'update',
        changes: [expect.objectContaining({ path: '.spec.replicas', before: 1, after: 4 })],
      }),
    ]);
    expect(view.clusters.find((c) => c.name === 'offline-1')?.state).toBe('notReported');
    for (const [ref, why] of [
      [UNSIGNED, /not previewed: commit [0-9a-f]{40}: is not signed/],
      [STRANGER, /not previewed: commit [0-9a-f]{40}: is signed by an SSH key that is not trusted/],
    ] as const) {
      const res = await hub.get(`/api/v1/previews/${encodeURIComponent(ref)}`);
      expect(res.status, ref).toBe(200);
      const refused = ((await res.json()) as PreviewView).clusters.find((c) => c.name === 'prod-hz')!;
      expect(refused, ref).toMatchObject({ state: 'failed', entries: [], counts: {}, renderErrors: [] });
      expect(refused.error?.reason, ref).toBe('PreviewRefused');
      expect(refused.error?.message, ref).toMatch(why);
    }
    const live = await labClient('hz').get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: NS,
      name: 'web',
    });
    expect((live?.spec as { replicas?: number } | undefined)?.replicas).toBe(1);
  }, 180_000);
});
