// The shipped agent (the bundle, with the image's environment) SIGKILLed at random points of its
// reconciles, 20 times, against the lab's real apiserver; every third kill lands between two deletes
// of the prune (the moment a watch sees the first one). After a clean restart it converges to the
// last commit, nothing it should keep was ever deleted (a watch sees every delete), and every report
// it wrote reaches the receiver, in order. Fewer than one kill landing mid-reconcile or mid-prune fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import { type Receiver, spawnAgent, startReceiver, waitFor, writeAgentConfig } from './agent-harness.js';
import { ConfigMapWatch } from './faults/watch.js';
import { labCluster } from './support/lab.js';

const NS = 'agent-chaos';
const PARENT_NS = 'strata-agent-chaos';
/** 20 unless STRATA_CHAOS_KILLS says more; fewer is refused, never silently run. */
const KILLS = Math.max(20, Number(process.env.STRATA_CHAOS_KILLS ?? 20));
const cluster = labCluster('sh');
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);

let tmp: string;
let git: GitServer;
let repo: TestRepo;
let receiver: Receiver;

/**
 * Two shapes of the fleet that alternate, so every round both updates and prunes: 110 objects in
 * both, 100 in one shape only. A prune of 100 objects takes long enough (16 deletes at a time) for a
 * kill at the first delete to land before the last one even on an idle machine; with 10 it did not.
 */
const BOTH = 110;
const EACH = 100;
function fleet(round: number): Record<string, string | null> {
  const files: Record<string, string | null> = {
    'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  };
  const even = round % 2 === 0;
  for (let i = 0; i < BOTH + 2 * EACH; i++) {
    const name = `cm-${String(i).padStart(3, '0')}`;
    const present = even ? i < BOTH + EACH : i < BOTH || i >= BOTH + EACH;
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
      log: { level: 'debug' },
    });
    const written = new Set<number>();
    const noteWritten = (agent: { logs: Record<string, unknown>[] }) => {
      for (const l of agent.logs)
        if (l.msg === 'Report written to the outbox.' && typeof l.seq === 'number') written.add(l.seq);
    };

    // A bystander in the same namespace, owned by someone else: never the agent's to prune.
    await commitFiles(repo, fleet(0));
    const first = spawnAgent(configFile);
    await waitFor(
      'the first apply',
      async () => {
        const list = await core.listNamespacedConfigMap({ namespace: NS }).catch(() => undefined);
        return (list?.items.length ?? 0) >= BOTH + EACH;
      },
      240_000,
    );
    await first.kill('SIGKILL');
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'bystander' }, data: { owner: 'someone-else' } },
    });

    // Every delete in the namespace, as it happens: objects in both shapes and the bystander must never go.
    const deleted: string[] = [];
    const wronglyDeleted: string[] = [];
    const always = new Set(desiredNames(0).filter((n) => desiredNames(1).includes(n)));
    const watch = new ConfigMapWatch(cluster.kubeconfigPath, NS, (e) => {
      if (e.type !== 'DELETED') return;
      deleted.push(e.name);
      if (always.has(e.name) || e.name === 'bystander') wronglyDeleted.push(e.name);
    });
    await watch.start();

    let round = 0;
    let midReconcile = 0;
    let midPrune = 0;
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        round++;
        // What this round prunes: the live objects that left the render (none when the last round
        // was killed before it applied anything; that round then gets another kind of kill).
        const live = (await core.listNamespacedConfigMap({ namespace: NS })).items.map(
          (c) => c.metadata?.name ?? '',
        );
        const leaving = live.filter((n) => n.startsWith('cm-') && !desiredNames(round).includes(n));
        const from = deleted.length;
        await commitFiles(repo, fleet(round), { message: `round ${round}` });
        const agent = spawnAgent(configFile);
        await agent.port;
        if (kill % 3 === 2 && leaving.length > 1) {
          // Between two deletes: at the first delete of an object that left the render.
          await waitFor(
            'the first delete of the prune',
            async () => deleted.slice(from).some((n) => leaving.includes(n)),
            120_000,
          );
          await agent.kill('SIGKILL');
          const names = (await core.listNamespacedConfigMap({ namespace: NS })).items.map(
            (c) => c.metadata?.name ?? '',
          );
          const left = leaving.filter((n) => names.includes(n)).length;
          if (left > 0 && left < leaving.length) midPrune++;
        } else if (kill % 3 === 1) {
          // During apply or prune: after planning.
          await waitFor('the plan', async () => agent.logs.some((l) => l.msg === 'planned'), 120_000);
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
        } else {
          // Anywhere from start-up on.
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4000)));
        }
        if (agent.logs.filter((l) => l.msg === 'Reconciled.').length === 0) midReconcile++;
        await agent.kill('SIGKILL');
        noteWritten(agent);
      }
    } finally {
      watch.stop();
    }
    expect(wronglyDeleted).toEqual([]);
    // A kill count of 0 proves nothing: some kills must land mid-reconcile, some mid-prune.
    expect(midReconcile).toBeGreaterThan(0);
    expect(midPrune).toBeGreaterThan(0);

    const last = spawnAgent(configFile);
    try {
      await last.port;
      const result = await last.sync();
      await waitFor(
        'the outbox to drain',
        async () => /strata_outbox_depth 0\b/.test(await last.metrics()),
        60_000,
      );
      noteWritten(last);
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
      // Every report the agents logged as written reached the receiver.
      expect(written.size).toBeGreaterThan(0);
      expect([...written].filter((seq) => !seqs.includes(seq))).toEqual([]);
      console.log(
        `chaos: ${KILLS} kills, ${midReconcile} before the first reconcile finished, ${midPrune} between two deletes, ${seqs.length} reports (${written.size} logged as written)`,
      );
    } finally {
      await last.kill('SIGTERM');
    }
  });
});
