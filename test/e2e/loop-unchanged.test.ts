// The pipeline's no-op shortcut on a real apiserver: a reconcile of an unchanged commit against
// unchanged live objects skips render and plan, and anything written to a member in between (an
// out-of-band edit, a deletion) is still found and corrected by the very next reconcile.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceConfig } from '../../agent/src/config/schema.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { enginePipeline } from '../../agent/src/loop/pipeline.js';
import type { Pipeline, SourceSections } from '../../agent/src/loop/types.js';
import { FolderTree } from '../../agent/src/source/folder.js';
import type { FileTree } from '../../agent/src/source/tree.js';
import { cleanUp, FAST, labClient, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-loop-unchanged';
const SOURCE = { ...SourceConfig.parse({ url: '/unused', interval: '10s' }), name: 'e2e-loop-unchanged' };
const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name });

let client: KubeApiClient;
let dir: string;
let pipeline: Pipeline;
/** Every file the renders read, and every log line of the pipeline. */
const reads: string[] = [];
const lines: { msg: string; stats?: { dryRuns: number; fullVerify: boolean } }[] = [];
const log = pino(
  { level: 'info' },
  { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[number]) },
);

function writeFiles(color: string): void {
  const cm = (name: string, data: Record<string, string>) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data });
  writeFileSync(
    join(dir, 'global/objects.yaml'),
    [
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }),
      cm('settings', { color, mode: 'fast' }),
      cm('other', { size: 'small' }),
    ].join('\n---\n'),
  );
}

function countingTree(): FileTree {
  const tree = new FolderTree(dir);
  return {
    description: tree.description,
    list: (d) => tree.list(d),
    readLink: (p) => tree.readLink(p),
    read: (p, max) => {
      reads.push(p);
      return tree.read(p, max);
    },
  };
}

/** One reconcile of `commit`; says whether it rendered (read a file) and what the plan did. */
async function reconcile(
  commit: string,
): Promise<{ rendered: boolean; sections: SourceSections; skipped: boolean }> {
  reads.length = 0;
  lines.length = 0;
  const sections = await pipeline.reconcile({
    source: SOURCE,
    commit,
    tree: countingTree(),
    log,
    previous: null,
  });
  return {
    rendered: reads.length > 0,
    sections,
    skipped: lines.some((l) => l.msg.includes('render and plan skipped')),
  };
}

const plannedStats = () => lines.find((l) => l.msg === 'planned')?.stats;
const colorNow = async () =>
  ((await client.get(ref('settings')))?.data as Record<string, string> | undefined)?.color;

beforeAll(async () => {
  client = labClient('hz');
  await cleanUp(client, NS, `strata-${SOURCE.name}`);
  dir = mkdtempSync(join(tmpdir(), 'strata-unchanged-'));
  mkdirSync(join(dir, 'global'));
  writeFiles('blue');
  pipeline = enginePipeline({
    client,
    identity: { name: 'hz', labels: {} },
    namespace: PARENT_NAMESPACE,
    // Every 4th reconcile of an unchanged commit verifies everything.
    policy: { ...FAST, fullVerifyEvery: 4 },
    stateDir: join(dir, '.state'),
  });
});

afterAll(async () => {
  await cleanUp(client, NS, `strata-${SOURCE.name}`);
  client.close();
});

describe('a reconcile with nothing changed', () => {
  it('renders and plans until a sync finds everything in sync, then skips both', async () => {
    const first = await reconcile('c1');
    expect(first.rendered).toBe(true);
    expect(first.sections.sync.created).toBe(3);
    // The sync after a change renders again: only a sync that changed nothing vouches for the cluster.
    const second = await reconcile('c1');
    expect(second).toMatchObject({ rendered: true, skipped: false });
    expect(second.sections.sync).toMatchObject({ phase: 'Synced', created: 0, updated: 0, unchanged: 3 });
    const third = await reconcile('c1');
    expect(third).toMatchObject({ rendered: false, skipped: true });
    expect(third.sections.sync).toMatchObject({ phase: 'Synced', commit: 'c1', unchanged: 3 });
    expect(third.sections.health?.status).toBe(second.sections.health?.status);
  });

  it('corrects an out-of-band edit made after a skip at the next reconcile', async () => {
    expect((await reconcile('c1')).skipped).toBe(true);
    await client.mergePatch(ref('settings'), { data: { color: 'red' } }, 'kubectl-edit');
    const next = await reconcile('c1');
    expect(next.skipped).toBe(false);
    expect(next.sections.drift).toEqual([
      expect.objectContaining({
        id: `/ConfigMap/${NS}/settings`,
        fields: ['.data.color'],
        action: 'corrected',
      }),
    ]);
    expect(await colorNow()).toBe('blue');
    // The correction wrote to the cluster, so the one after it plans in full before skipping again.
    expect((await reconcile('c1')).skipped).toBe(false);
    expect((await reconcile('c1')).skipped).toBe(true);
  });

  it('recreates a member deleted out of band after a skip', async () => {
    expect((await reconcile('c1')).skipped).toBe(true);
    await client.delete(ref('other'));
    const next = await reconcile('c1');
    expect(next.skipped).toBe(false);
    expect(next.sections.sync.created).toBe(1);
    expect(await client.get(ref('other'))).toBeDefined();
  });

  it('renders a new commit', async () => {
    await reconcile('c1');
    expect((await reconcile('c1')).skipped).toBe(true);
    writeFiles('green');
    const next = await reconcile('c2');
    expect(next).toMatchObject({ rendered: true, skipped: false });
    expect(next.sections.sync.updated).toBe(1);
    expect(await colorNow()).toBe('green');
  });

  it('still dry-runs everything on every fullVerifyEvery-th reconcile', async () => {
    // A quiet sync, then 3 skips would be 4 in a row: the 4th is a full verify instead.
    await reconcile('c2');
    const run = [];
    for (let i = 0; i < 4; i++) {
      const r = await reconcile('c2');
      run.push({ skipped: r.skipped, fullVerify: plannedStats()?.fullVerify ?? null });
    }
    expect(run).toEqual([
      { skipped: true, fullVerify: null },
      { skipped: true, fullVerify: null },
      { skipped: true, fullVerify: null },
      { skipped: false, fullVerify: true },
    ]);
    expect(plannedStats()?.dryRuns).toBe(3);
  });
});
