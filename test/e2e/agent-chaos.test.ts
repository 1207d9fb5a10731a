// The agent SIGKILLed at random points of its reconciles, 20 times, against the lab's real
// apiserver: after a clean restart it converges to the last commit, prunes nothing it should not,
// and every report it wrote reaches the receiver.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import { type Receiver, spawnAgent, startReceiver, waitFor, writeAgentConfig } from './agent-harness.js';
import { labCluster } from './support/lab.js';

const NS = 'agent-chaos';
const PARENT_NS = 'strata-agent-chaos';
/** At least 20 in CI; STRATA_CHAOS_KILLS may raise it (or lower it while iterating locally). */
const KILLS = Number(process.env.STRATA_CHAOS_KILLS ?? 20);
const cluster = labCluster('sh');
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);

let tmp: string;
let git: GitServer;
let repo: TestRepo;
let receiver: Receiver;

/** Two shapes of the fleet that alternate, so every round both updates and prunes. */
function fleet(round: number): Record<string, string | null> {
  const files: Record<string, string | null> = {
    'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  };
  const even = round % 2 === 0;
  for (let i = 0; i < 40; i++) {
    const name = `cm-${String(i).padStart(2, '0')}`;
    const present = even ? i < 30 : i < 20 || i >= 30;
    files[`global/${name}.yaml`] = present
      ? `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${NS} }\ndata: { round: "${round}" }\n`
      : null;
  }
  return files;
}

function desiredNames(round: number): string[] {
  return Object.entries(fleet(round))
    .filter(([p, c]) => c !== null && p.includes('/cm-'))
    .map(([p]) => path.basename(p, '.yaml'))
    .sort();
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-agent-chaos-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  git = await startGitServer({ root: path.join(tmp, 'repos') });
  receiver = await startReceiver();
});

afterAll(async () => {
  await git?.close();
  await receiver?.stop();
  for (const name of [NS, PARENT_NS]) await core.deleteNamespace({ name }).catch(() => {});
  await rm(tmp, { recursive: true, force: true });
});

describe('strata agent killed mid-reconcile', () => {
  it(`converges after ${KILLS} SIGKILLs with nothing lost or wrongly pruned`, {
    timeout: 900_000,
  }, async () => {
    const configFile = await writeAgentConfig(tmp, {
      cluster: { name: 'sh', labels: { region: 'sh' } },
      sources: [{ name: 'fleet', url: git.url('fleet'), ref: 'main', interval: '1s', timeout: '5s' }],
      hub: { url: receiver.url, timeout: '2s' },
      kube: { kubeconfig: cluster.kubeconfigPath, namespace: PARENT_NS },
      stateDir: path.join(tmp, 'state'),
      listen: '127.0.0.1:0',
      outbox: { minBackoff: '100ms', maxBackoff: '1s' },
    });

    // A bystander in the same namespace, owned by someone else: never the agent's to prune.
    await commitFiles(repo, fleet(0));
    const first = spawnAgent(configFile);
    await waitFor(
      'the first apply',
      async () => {
        const list = await core.listNamespacedConfigMap({ namespace: NS }).catch(() => undefined);
        return (list?.items.length ?? 0) >= 30;
      },
      240_000,
    );
    await first.kill('SIGKILL');
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'bystander' }, data: { owner: 'someone-else' } },
    });

    let round = 0;
    let midReconcile = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      round++;
      await commitFiles(repo, fleet(round), { message: `round ${round}` });
      const agent = spawnAgent(configFile);
      await agent.port;
      // Half the kills land anywhere from start-up on; half during apply/prune, after planning.
      if (kill % 2 === 1) {
        await waitFor('the plan', async () => agent.logs.some((l) => l.msg === 'planned'), 120_000).catch(
          () => {},
        );
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      } else {
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4000)));
      }
      const finished = agent.logs.filter((l) => l.msg === 'Reconciled.').length;
      if (finished === 0) midReconcile++;
      await agent.kill('SIGKILL');
    }

    const last = spawnAgent(configFile);
    try {
      await last.port;
      const result = await last.sync();
      await waitFor(
        'the outbox to drain',
        async () => /strata_outbox_depth 0\b/.test(await last.metrics()),
        60_000,
      );
      const finalSync = receiver.reports.at(-1)?.sources[0]?.sync;
      expect(result.sources[0]?.phase, JSON.stringify(finalSync?.errors)).toMatch(/Synced|Progressing/);
      const live = await core.listNamespacedConfigMap({ namespace: NS });
      const byName = new Map(live.items.map((c) => [c.metadata?.name ?? '', c.data ?? {}]));
      const managed = [...byName.keys()].filter((n) => n.startsWith('cm-')).sort();
      expect(managed).toEqual(desiredNames(round));
      for (const name of managed) expect(byName.get(name)?.round).toBe(String(round));
      expect(byName.get('bystander')).toEqual({ owner: 'someone-else' });

      const seqs = [...new Set(receiver.reports.map((r) => r.seq))].sort((a, b) => a - b);
      const firstSeq = seqs[0] as number;
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => firstSeq + i));
      expect(receiver.invalid).toEqual([]);
      // First arrivals are in seq order: a report is only sent after every older one was accepted.
      const firstArrival = receiver.reports.map((r) => r.seq).filter((s, i, all) => all.indexOf(s) === i);
      expect(firstArrival).toEqual(seqs);
      console.log(
        `chaos: ${KILLS} kills, ${midReconcile} before the first reconcile finished, ${seqs.length} reports`,
      );
    } finally {
      await last.kill('SIGTERM');
    }
  });
});
