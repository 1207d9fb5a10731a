// `strata plan` and `strata apply` as a person runs them, against a real cluster: exit codes,
// readable output, JSON, and Secret values that never appear in any output or log.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import { syncCluster } from '../../agent/src/sync/sync.js';
import { labCluster } from './support/lab.js';
import { cleanUp, FAST, labClient, PARENT_NAMESPACE } from './sync-fixtures.js';

const run = promisify(execFile);
const CLI = resolve('agent/src/cli.ts');
const NS = 'e2e-sync-cli';
const APPLYSET = 'e2e-sync-cli';
const PASSWORD_V1 = 'hunter2-SEKRET-one';
const PASSWORD_V2 = 'correct-horse-SEKRET-two';
const TOKEN = 'tok-SEKRET-unchanged';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SECRET_TEXTS = [PASSWORD_V1, PASSWORD_V2, TOKEN, b64(PASSWORD_V1), b64(PASSWORD_V2), b64(TOKEN)];

let repo: string;
let client: KubeApiClient;

function manifests(password: string, replicas: number): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Secret
metadata: { name: creds, namespace: ${NS} }
stringData:
  password: ${password}
data:
  token: ${b64(TOKEN)}
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: ${NS} }
data:
  replicas: "${replicas}"
  owner: \${cluster.name}
`;
}

async function writeRepo(password: string, replicas: number) {
  await mkdir(join(repo, 'global'), { recursive: true });
  await writeFile(join(repo, 'global', 'app.yaml'), manifests(password, replicas));
}

async function strata(args: string[], env: Record<string, string> = {}) {
  const full = [
    '--import',
    'tsx',
    CLI,
    ...args,
    '--repo',
    repo,
    '--cluster',
    'edge-1',
    '--labels',
    'tier=edge',
    '--kubeconfig',
    labCluster('edge').kubeconfigPath,
    '--applyset',
    APPLYSET,
    '--applyset-namespace',
    PARENT_NAMESPACE,
  ];
  try {
    const { stdout, stderr } = await run(process.execPath, full, {
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function expectNoSecrets(text: string) {
  for (const s of SECRET_TEXTS) expect(text).not.toContain(s);
}

beforeAll(async () => {
  client = labClient('edge');
  await cleanUp(client, NS, APPLYSET);
  repo = await mkdtemp(join(tmpdir(), 'strata-fleet-'));
  await writeRepo(PASSWORD_V1, 1);
});

afterAll(async () => {
  await cleanUp(client, NS, APPLYSET);
  client.close();
  await rm(repo, { recursive: true, force: true });
});

describe('strata plan / apply', { timeout: 300_000 }, () => {
  it('plan exits 3 with changes pending and lists the creates, without secret values', async () => {
    const r = await strata(['plan']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Cluster edge-1');
    expect(r.stdout).toContain(`+ create    /Secret/${NS}/creds`);
    expect(r.stdout).toContain('Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.');
    expect(r.stdout).not.toContain('\u001b['); // not a terminal: no colour
    expectNoSecrets(r.stdout + r.stderr);
  });

  it('apply shows progress and a summary, exits 0, and substitutes the cluster identity', async () => {
    const r = await strata(['apply']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ created\s+\/Namespace\/\/e2e-sync-cli/);
    expect(r.stdout).toContain('3 created, 0 updated, 0 replaced, 0 pruned, 0 unchanged, 0 error(s).');
    expectNoSecrets(r.stdout + r.stderr);
    const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'settings' });
    expect(cm?.data).toEqual({ replicas: '1', owner: 'edge-1' });
  });

  it('plan exits 0 when nothing changed', async () => {
    const r = await strata(['plan']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 object(s) unchanged');
  });

  it('a changed Secret shows which key changed, never the old or new value', async () => {
    await writeRepo(PASSWORD_V2, 2);
    const text = await strata(['plan']);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('.data.password: (secret value changed)');
    expect(text.stdout).toContain('.data.replicas: "1" → "2"');
    expect(text.stdout).not.toContain('.data.token');
    expectNoSecrets(text.stdout + text.stderr);
  });

  it('the JSON plan marks the changed Secret key as redacted and holds no value', async () => {
    const json = await strata(['plan', '--format', 'json']);
    expect(json.code).toBe(3);
    const body = JSON.parse(json.stdout) as { plan: { entries: { id: string; changes: unknown[] }[] } };
    const secret = body.plan.entries.find((e) => e.id === `/Secret/${NS}/creds`);
    expect(secret?.changes).toEqual([{ path: '.data.password', op: 'replace', redacted: true }]);
    expectNoSecrets(json.stdout + json.stderr);
  });

  it('the JSON result of apply holds no Secret value', async () => {
    const applied = await strata(['apply', '--format', 'json']);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout).counts.updated).toBe(2);
    expectNoSecrets(applied.stdout + applied.stderr);
  });

  it('logs of a sync never hold secret values, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'trace' }, sink);
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: NS },
      stringData: { password: PASSWORD_V1 },
      data: { token: b64(TOKEN) },
    };
    const r = await syncCluster({
      client,
      objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, secret],
      applySet: { name: `${APPLYSET}-log`, namespace: PARENT_NAMESPACE },
      policy: FAST,
      log,
    });
    expect(r.errors).toEqual([]);
    expect(lines.length).toBeGreaterThan(0);
    expectNoSecrets(lines.join('') + JSON.stringify(r));
    await client.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: PARENT_NAMESPACE,
      name: `${APPLYSET}-log`,
    });
  });

  it('usage errors exit 2 and name the problem', async () => {
    const r = await strata(['plan', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format must be text or json');
  });

  it('a render error exits 1 with the file named, and touches nothing', async () => {
    await writeFile(join(repo, 'global', 'broken.yaml'), 'kind: [unclosed\n');
    const r = await strata(['apply']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('global/broken.yaml');
    expect(r.stdout).toContain('nothing applied or pruned');
    expect(
      await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'creds' }),
    ).toBeDefined();
    await rm(join(repo, 'global', 'broken.yaml'));
  });

  it('--all-contexts plans every context of a kubeconfig with the identity the clusters file gives it', async () => {
    const clusters = join(repo, '..', `clusters-${Date.now()}.yaml`);
    const kc = labCluster('edge').kubeConfig;
    const ctx = kc.getCurrentContext();
    await writeFile(
      clusters,
      `clusters:\n  - name: edge-1\n    context: ${ctx}\n    labels: { tier: edge }\n`,
    );
    const r = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'plan',
        '--repo',
        repo,
        '--all-contexts',
        '--clusters',
        clusters,
        '--kubeconfig',
        labCluster('edge').kubeconfigPath,
        '--format',
        'json',
      ],
      { env: process.env },
    ).then(
      (x) => ({ code: 0, ...x }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    await rm(clusters);
    expect(r.stderr).toBe('');
    const body = JSON.parse(r.stdout) as
      | { clusters: { cluster: string; context: string }[] }
      | { cluster: string; context: string };
    const list = 'clusters' in body ? body.clusters : [body];
    expect(list.map((c) => [c.cluster, c.context])).toEqual(kc.getContexts().map((c) => ['edge-1', c.name]));
  });
});
