// The real `strata agent` process with a `previewRefs` pattern: it syncs the main branch, plans
// the open pull-request ref against its real cluster without applying it, and the hub shows it.
// The preview policy trusts one SSH signing key: a PR whose head is signed by it is dry-run; an
// unsigned PR and one signed by a stranger's key are refused without a plan, so a stranger cannot
// make the fleet's agents dry-run their manifests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewView } from '../../contract/live-preview.js';
import {
  commitFiles,
  createRepo,
  type GitServer,
  git as runGit,
  setRef,
  startGitServer,
  type TestRepo,
} from '../git/index.js';
import { keygen, type SshKeyPair } from '../git/sshd.js';
import { startTestHub, type TestHub } from '../unit/hub/helpers.js';
import { type AgentProcess, spawnAgent, waitFor, writeAgentConfig } from './agent-harness.js';
import { labCluster } from './support/lab.js';
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

let tmp: string;
let repo: TestRepo;
let git: GitServer;
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
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-preview-agent-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos') });
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
  hub = await startTestHub();
  await writeFile(path.join(tmp, 'hub-token'), (await hub.token('prod-hz')).token);
  await hub.token('offline-1');
  const client = labClient('hz');
  await client.apply(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PARENT_NS } },
    { fieldManager: 'e2e-setup', force: true },
  );
});

afterAll(async () => {
  await agent?.kill('SIGTERM');
  const client = labClient('hz');
  for (const name of [NS, PARENT_NS]) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name });
  await hub?.close();
  await git?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('strata agent with previewRefs', () => {
  it("reports a dry-run plan of the signed PR to the hub, refuses unsigned and strangers' PRs, applies only main", async () => {
    const config = await writeAgentConfig(tmp, {
      cluster: { name: 'prod-hz', labels: { region: 'cn-hangzhou' } },
      sources: [
        {
          name: 'fleet',
          url: git.url('fleet'),
          ref: 'main',
          interval: '2s',
          timeout: '10s',
          previewRefs: 'refs/pull/*/head',
          previewPolicy: { keys: [path.join(tmp, 'preview-signers')] },
        },
      ],
      kube: { kubeconfig: labCluster('hz').kubeconfigPath, namespace: PARENT_NS },
      hub: { url: hub.url, tokenFile: path.join(tmp, 'hub-token') },
      stateDir: path.join(tmp, 'state'),
      listen: '127.0.0.1:0',
      outbox: { minBackoff: '100ms', maxBackoff: '1s' },
      log: { level: 'info' },
    });
    agent = spawnAgent(config);
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
