// An apply killed with SIGKILL at several points (in the apply phase, and between two deletes of the
// prune: at the first delete a watch sees) and then run again converges: nothing lost, nothing wrongly deleted, and the ApplySet
// still describes exactly the objects in the cluster. Runs the shipped bundle, as the image does.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySetId, GROUP_KINDS_ANNOTATION, PART_OF_LABEL } from '../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { objectId } from '../../agent/src/model/object.js';
import { ConfigMapWatch } from './faults/watch.js';
import { BUNDLE, IMAGE_ENV } from './support/bundle.js';
import { labCluster } from './support/lab.js';
import { cleanUp, labClient, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-sync-crash';
const APPLYSET = 'e2e-sync-crash';
const ID = applySetId({ name: APPLYSET, namespace: PARENT_NAMESPACE });
const KEPT = 250;

let repo: string;
let stateDir: string;
let client: KubeApiClient;

/** A fleet of ConfigMaps: `keep-*` in both versions, `old-*` only in v1, `new-*` only in v2. */
async function writeFleet(version: 1 | 2) {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`];
  const cm = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${NS} }\ndata: { version: "${version}" }\n`;
  for (let i = 0; i < KEPT; i++) docs.push(cm(`keep-${String(i).padStart(3, '0')}`));
  for (let i = 0; i < 20; i++)
    docs.push(cm(version === 1 ? `old-${String(i).padStart(2, '0')}` : `new-${String(i).padStart(2, '0')}`));
  await mkdir(join(repo, 'global'), { recursive: true });
  await writeFile(join(repo, 'global', 'fleet.yaml'), docs.join('---\n'));
}

const args = () => [
  BUNDLE,
  'apply',
  '--repo',
  repo,
  '--cluster',
  'crash',
  '--kubeconfig',
  labCluster('sh').kubeconfigPath,
  '--applyset',
  APPLYSET,
  '--applyset-namespace',
  PARENT_NAMESPACE,
  '--state',
  stateDir,
  '--concurrency',
  '1',
];

/** Runs `strata apply` to the end; its exit code. */
function applyToEnd(): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args(), {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...IMAGE_ENV },
    });
    child.on('error', fail);
    child.on('exit', (code) => done(code ?? -1));
  });
}

/** Runs `strata apply` and SIGKILLs it once it printed `after` applied objects; whether it was still running then. */
function applyAndKill(after: number): Promise<boolean> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args(), {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...IMAGE_ENV },
    });
    let seen = 0;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      seen += chunk.split('\n').filter((l) => l.includes('✓')).length;
      if (!killed && seen >= after) {
        killed = child.kill('SIGKILL');
      }
    });
    child.on('error', fail);
    child.on('exit', () => done(killed));
  });
}

/**
 * Runs `strata apply` and SIGKILLs it at the first delete of an object named `prefix*` that a watch
 * sees (the CLI prints prune lines only once the prune is over, so no output line marks its middle).
 */
async function applyAndKillAtDelete(prefix: string): Promise<boolean> {
  let child: ReturnType<typeof spawn> | undefined;
  let killed = false;
  const watch = new ConfigMapWatch(labCluster('sh').kubeconfigPath, NS, (e) => {
    if (e.type === 'DELETED' && e.name.startsWith(prefix) && !killed && child) killed = child.kill('SIGKILL');
  });
  await watch.start();
  try {
    return await new Promise((done, fail) => {
      child = spawn(process.execPath, args(), {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, ...IMAGE_ENV },
      });
      child.on('error', fail);
      child.on('exit', () => done(killed));
    });
  } finally {
    watch.stop();
  }
}

async function members() {
  return (
    await client.list('v1', 'ConfigMap', { labelSelector: `${PART_OF_LABEL}=${ID}`, namespace: NS })
  ).map(objectId);
}

async function allConfigMaps() {
  return client.list('v1', 'ConfigMap', { namespace: NS });
}

beforeAll(async () => {
  client = labClient('sh');
  await cleanUp(client, NS, APPLYSET);
  repo = await mkdtemp(join(tmpdir(), 'strata-crash-'));
  stateDir = await mkdtemp(join(tmpdir(), 'strata-crash-state-'));
});

afterAll(async () => {
  await cleanUp(client, NS, APPLYSET);
  client.close();
  await rm(repo, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe('an apply killed midway', { timeout: 600_000 }, () => {
  it('converges after SIGKILL during the first apply, with every object labelled into the ApplySet', async () => {
    await writeFleet(1);
    expect(await applyAndKill(40)).toBe(true);
    const partial = await allConfigMaps();
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(KEPT + 20);
    // Every object a killed run created is already a member: nothing can be orphaned.
    for (const cm of partial.filter((c) => c.metadata.name !== 'kube-root-ca.crt')) {
      expect(cm.metadata.labels?.[PART_OF_LABEL]).toBe(ID);
    }
    expect(await applyToEnd()).toBe(0);
    expect((await members()).length).toBe(KEPT + 20);
  });

  it('converges after SIGKILLs during an update that also prunes: nothing lost, nothing wrongly deleted', async () => {
    await writeFleet(2);
    for (const after of [5, 60, 150]) {
      await applyAndKill(after);
      const now = await allConfigMaps();
      const names = new Set(now.map((c) => c.metadata.name));
      // No keep-* object is ever missing, whatever point the run died at.
      for (let i = 0; i < KEPT; i++) expect(names.has(`keep-${String(i).padStart(3, '0')}`)).toBe(true);
      const parent = await client.get({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: PARENT_NAMESPACE,
        name: APPLYSET,
      });
      expect(parent?.metadata.annotations?.[GROUP_KINDS_ANNOTATION]).toContain('ConfigMap');
    }
    expect(await applyToEnd()).toBe(0);
    const final = (await allConfigMaps()).filter((c) => c.metadata.name !== 'kube-root-ca.crt');
    expect(final.every((c) => (c.data as { version: string }).version === '2')).toBe(true);
    expect(final.some((c) => c.metadata.name.startsWith('old-'))).toBe(false);
    expect(final.filter((c) => c.metadata.name.startsWith('new-'))).toHaveLength(20);
    expect((await members()).sort()).toEqual(final.map(objectId).sort());
  });

  it('converges after a SIGKILL between two deletes of the prune: only what left the render goes', async () => {
    // Back to v1: new-* leave the render (20 deletes, one at a time), old-* come back.
    await writeFleet(1);
    const before = new Map((await allConfigMaps()).map((c) => [c.metadata.name, c.metadata.uid]));
    expect([...before.keys()].filter((n) => n.startsWith('new-'))).toHaveLength(20);
    expect(await applyAndKillAtDelete('new-')).toBe(true);
    const after = await allConfigMaps();
    const names = after.map((c) => c.metadata.name);
    const leftToPrune = names.filter((n) => n.startsWith('new-')).length;
    // The kill landed mid-prune: some deletes done, some not.
    expect(leftToPrune).toBeGreaterThan(0);
    expect(leftToPrune).toBeLessThan(20);
    // Everything of the render is there, applied before the prune began; no kept object was replaced.
    for (let i = 0; i < KEPT; i++) {
      const name = `keep-${String(i).padStart(3, '0')}`;
      expect(after.find((c) => c.metadata.name === name)?.metadata.uid, name).toBe(before.get(name));
    }
    expect(names.filter((n) => n.startsWith('old-'))).toHaveLength(20);
    // What is left to prune is still a member, so the next run finds it.
    for (const cm of after.filter((c) => c.metadata.name.startsWith('new-')))
      expect(cm.metadata.labels?.[PART_OF_LABEL]).toBe(ID);
    expect(await applyToEnd()).toBe(0);
    const final = (await allConfigMaps()).filter((c) => c.metadata.name !== 'kube-root-ca.crt');
    expect(final.some((c) => c.metadata.name.startsWith('new-'))).toBe(false);
    for (const c of final.filter((c) => c.metadata.name.startsWith('keep-')))
      expect(c.metadata.uid, c.metadata.name).toBe(before.get(c.metadata.name));
    expect(final).toHaveLength(KEPT + 20);
    expect((await members()).sort()).toEqual(final.map(objectId).sort());
  });
});
