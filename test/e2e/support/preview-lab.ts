/**
 * What the live-preview e2e tests of the real agent share: a fleet repository served over Git
 * HTTP, a hub holding a token for `prod-hz`, the test's namespaces on the lab's hz cluster, and an
 * agent config that syncs main and dry-runs `refs/pull/<n>/head` under a given preview policy.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRepo, type GitServer, startGitServer, type TestRepo } from '../../git/index.js';
import { startTestHub, type TestHub } from '../../unit/hub/helpers.js';
import { type AgentProcess, spawnAgent, writeAgentConfig } from '../agent-harness.js';
import { labClient } from '../sync-fixtures.js';
import { labCluster } from './lab.js';

/** A running preview set-up; `tmp` holds the repository, the token file and the agent's state. */
export interface PreviewLab {
  tmp: string;
  repo: TestRepo;
  git: GitServer;
  hub: TestHub;
}

/** Starts the repository `fleet`, the hub (with `hubOptions`) and creates `namespaces` on hz. */
export async function startPreviewLab(
  name: string,
  namespaces: string[],
  hubOptions: Parameters<typeof startTestHub>[0] = {},
): Promise<PreviewLab> {
  const tmp = await mkdtemp(path.join(tmpdir(), `strata-${name}-`));
  const repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  const git = await startGitServer({ root: path.join(tmp, 'repos') });
  let hub: TestHub | undefined;
  try {
    hub = await startTestHub(hubOptions);
    await writeFile(path.join(tmp, 'hub-token'), (await hub.token('prod-hz')).token);
    const client = labClient('hz');
    for (const ns of namespaces) {
      await client.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
        { fieldManager: 'e2e-setup', force: true },
      );
    }
    return { tmp, repo, git, hub };
  } catch (err) {
    await hub?.close();
    await git.close();
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts agent `prod-hz` (the bundled CLI): source `fleet` on main every 2 s, and a dry run of every
 * PR ref that `previewPolicy` lets through, reported to the lab's hub.
 */
export async function previewAgent(
  lab: PreviewLab,
  parentNamespace: string,
  previewPolicy: Record<string, unknown>,
): Promise<AgentProcess> {
  const config = await writeAgentConfig(lab.tmp, {
    cluster: { name: 'prod-hz', labels: { region: 'cn-hangzhou' } },
    sources: [
      {
        name: 'fleet',
        url: lab.git.url('fleet'),
        ref: 'main',
        interval: '2s',
        timeout: '10s',
        previewRefs: 'refs/pull/*/head',
        previewPolicy,
      },
    ],
    kube: { kubeconfig: labCluster('hz').kubeconfigPath, namespace: parentNamespace },
    hub: { url: lab.hub.url, tokenFile: path.join(lab.tmp, 'hub-token') },
    stateDir: path.join(lab.tmp, 'state'),
    listen: '127.0.0.1:0',
    outbox: { minBackoff: '100ms', maxBackoff: '1s' },
    log: { level: 'info' },
  });
  return spawnAgent(config);
}

/** Stops the agent, deletes `namespaces` from hz, stops the hub and the Git server, removes `tmp`. */
export async function stopPreviewLab(
  lab: PreviewLab | undefined,
  agent: AgentProcess | undefined,
  namespaces: string[],
): Promise<void> {
  await agent?.kill('SIGTERM');
  const client = labClient('hz');
  for (const name of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name });
  await lab?.hub.close();
  await lab?.git.close();
  if (lab?.tmp) await rm(lab.tmp, { recursive: true, force: true });
}
