// Least privilege that works: the agent chart with `rbac.scope: namespaced` is rendered by the real
// helm and installed into lab cluster hz, and the bundled agent runs with that chart's own
// ServiceAccount token (a TokenRequest turned into a kubeconfig), never the admin identity. Objects
// in the allowed namespaces are synced and pruned; an object outside them, and a cluster-scoped
// kind the Roles do not grant, are each reported Forbidden by name while everything else syncs on.
// With `previews.serviceAccount.create` the chart's agent token may impersonate the preview
// ServiceAccount (and no one else), which may read and dry-run only what its rules allow.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applySetId, applySetName, PART_OF_LABEL } from '../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import type { Report } from '../../contract/report.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../git/index.js';
import { renderChart } from '../unit/charts/helm.js';
import { freePort, layOutPod } from '../unit/charts/pod.js';
import { type Receiver, startReceiver, waitFor } from './agent-harness.js';
import { BUNDLE, IMAGE_ENV } from './support/bundle.js';
import { labCluster } from './support/lab.js';
import { labClient, namespace } from './sync-fixtures.js';

const suffix = randomBytes(3).toString('hex');
const release = `lp-${suffix}`;
const agentNamespace = `e2e-lp-${suffix}`;
const allowedA = `${agentNamespace}-a`;
const allowedB = `${agentNamespace}-b`;
const denied = `${agentNamespace}-denied`;
const escalation = `e2e-lp-${suffix}-escalate`;

const configMapYaml = (ns: string, name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  value: ${value}\n`;

/** The fleet: two allowed namespaces, one the Roles do not cover, and a kind they do not grant. */
const FLEET = {
  'global/keep.yaml': configMapYaml(allowedA, 'keep', 'one'),
  'global/gone.yaml': configMapYaml(allowedB, 'gone', 'one'),
  'global/robot.yaml': `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n  namespace: ${allowedB}\n`,
  'global/denied.yaml': configMapYaml(denied, 'outside', 'one'),
  'global/escalate.yaml': [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata:',
    `  name: ${escalation}`,
    'rules:',
    '  - apiGroups: ["*"]',
    '    resources: ["*"]',
    '    verbs: ["*"]',
    '',
  ].join('\n'),
};

const ids = {
  keep: `/ConfigMap/${allowedA}/keep`,
  gone: `/ConfigMap/${allowedB}/gone`,
  outside: `/ConfigMap/${denied}/outside`,
  escalate: `rbac.authorization.k8s.io/ClusterRole//${escalation}`,
};

let admin: KubeApiClient;
let git: GitServer;
let repo: TestRepo;
let receiver: Receiver;
let agent: ChildProcess | undefined;
let output = '';
let installed: KubeObject[] = [];
let first: string;
const work = mkdtempSync(join(tmpdir(), 'strata-e2e-lp-'));

const cm = (ns: string, name: string) =>
  admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });

/** A bound token of the ServiceAccount, from the TokenRequest API. */
async function serviceAccountToken(serviceAccount: string): Promise<string> {
  const hz = labCluster('hz');
  const core = hz.kubeConfig.makeApiClient(CoreV1Api);
  const answer = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace: agentNamespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`the TokenRequest for ${serviceAccount} returned no token`);
  return token;
}

/** The ServiceAccount's own credentials: a bound token from the TokenRequest API, in a kubeconfig. */
async function serviceAccountKubeconfig(serviceAccount: string): Promise<string> {
  const hz = labCluster('hz');
  const token = await serviceAccountToken(serviceAccount);
  const cluster = hz.kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the lab kubeconfig has no current cluster');
  const clusterEntry: Record<string, string> = { server: cluster.server };
  if (cluster.caData) clusterEntry['certificate-authority-data'] = cluster.caData;
  if (cluster.caFile) clusterEntry['certificate-authority'] = cluster.caFile;
  const file = join(work, 'sa-kubeconfig');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hz', cluster: clusterEntry }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: 'agent', context: { cluster: 'hz', user: serviceAccount } }],
      'current-context': 'agent',
    }),
    { mode: 0o600 },
  );
  return file;
}

/**
 * The first report whose source synced `commit`: the one that applied or pruned it (later
 * reconciles of the same commit, every 2 s, report it unchanged).
 */
function reportFor(commit: string): Report | undefined {
  return receiver.reports.find((r) => r.sources[0]?.sync?.commit === commit);
}

const errorsOf = (report: Report) => report.sources[0]!.sync!.errors;

beforeAll(async () => {
  admin = labClient('hz');
  for (const ns of [agentNamespace, allowedA, allowedB, denied])
    await admin.apply(namespace(ns), { fieldManager: 'e2e-lp', force: true });
  repo = await createRepo(join(work, 'git'), 'fleet');
  first = await commitFiles(repo, FLEET);
  git = await startGitServer({ root: join(work, 'git') });
  receiver = await startReceiver();
  const values = {
    cluster: { name: 'hz' },
    sources: [{ name: 'fleet', url: git.url('fleet'), interval: '2s' }],
    hub: { url: receiver.url },
    rbac: { scope: 'namespaced', namespaced: { namespaces: [allowedA, allowedB] } },
    previews: { serviceAccount: { create: true } },
  };
  installed = renderChart('strata-agent', values, { release, namespace: agentNamespace });
  // The whole chart goes in, as `helm install` would put it; KWOK marks the Deployment's Pod ready
  // without running it, and the test runs that container's command itself, below.
  for (const obj of installed) await admin.apply(obj, { fieldManager: 'helm', force: true });
}, 120_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
  }
  await git?.close();
  await receiver?.stop();
  if (admin) {
    for (const obj of installed.filter((o) => !o.metadata.namespace))
      await admin.delete({ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name });
    await admin.delete({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      name: escalation,
    });
    for (const ns of [agentNamespace, allowedA, allowedB, denied])
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
    admin.close();
  }
  rmSync(work, { recursive: true, force: true });
});

const agentServiceAccount = () =>
  installed.find((o) => o.kind === 'ServiceAccount' && !o.metadata.name.endsWith('-preview'))!.metadata.name;

/** One request to lab hz with a bearer token, optionally impersonating `as`; the HTTP status. */
function statusOf(token: string, method: string, path: string, as?: string, body?: string): Promise<number> {
  const cluster = labCluster('hz').kubeConfig.getCurrentCluster()!;
  const url = new URL(path, cluster.server);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : readFileSync(cluster.caFile!);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          ...(as ? { 'impersonate-user': as } : {}),
          ...(body ? { 'content-type': 'application/apply-patch+yaml' } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the agent under the namespaced chart ServiceAccount', () => {
  it('syncs and prunes in the allowed namespaces, and reports each forbidden object by name', async () => {
    const serviceAccount = agentServiceAccount();
    const kubeconfig = await serviceAccountKubeconfig(serviceAccount);
    const pod = layOutPod(installed, join(work, 'pod'));
    const port = await freePort();
    agent = spawn(process.execPath, [BUNDLE, ...pod.args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...IMAGE_ENV,
        ...pod.env,
        // Outside a pod: the ServiceAccount's token in a kubeconfig instead of the mounted one.
        STRATA_IN_CLUSTER: 'false',
        STRATA_KUBECONFIG: kubeconfig,
        STRATA_STATE_DIR: join(work, 'pod/var/lib/strata'),
        STRATA_LISTEN: `127.0.0.1:${port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    agent.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const alive = () => {
      if (agent!.exitCode !== null)
        throw new Error(`the agent exited with ${agent!.exitCode}:\n${output.slice(-4000)}`);
    };

    const firstReport = await waitFor(
      'a report of the first commit',
      async () => {
        alive();
        return reportFor(first);
      },
      90_000,
    );
    const firstErrors = errorsOf(firstReport);
    expect(firstErrors.find((e) => e.object === ids.outside)?.reason, output.slice(-3000)).toBe('Forbidden');
    expect(firstErrors.find((e) => e.object === ids.escalate)?.reason).toBe('Forbidden');
    // Besides those two, only the member LISTs the Roles forbid failed, each named by its scope.
    expect(
      firstErrors
        .filter((e) => e.object === undefined)
        .map((e) => `${e.reason}: ${e.message.split(' failed,')[0]}`)
        .sort(),
    ).toEqual([
      `Forbidden: listing ApplySet members of ClusterRole.rbac.authorization.k8s.io (cluster-wide)`,
      `Forbidden: listing ApplySet members of ConfigMap in namespace ${denied}`,
    ]);
    expect(firstErrors).toHaveLength(4);
    expect(firstReport.sources[0]!.sync!.created).toBe(3);
    for (const [ns, name] of [
      [allowedA, 'keep'],
      [allowedB, 'gone'],
    ] as const) {
      const live = await cm(ns, name);
      expect(live?.metadata.labels?.[PART_OF_LABEL]).toBe(
        applySetId({ name: applySetName('fleet'), namespace: agentNamespace }),
      );
    }
    expect(await cm(denied, 'outside')).toBeUndefined();
    expect(
      await admin.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: escalation }),
    ).toBeUndefined();

    const second = await commitFiles(repo, { 'global/gone.yaml': null }, { message: 'drop gone' });
    const secondReport = await waitFor(
      'a report of the second commit',
      async () => {
        alive();
        return reportFor(second);
      },
      90_000,
    );
    expect(secondReport.sources[0]!.sync!.pruned).toBe(1);
    expect(await cm(allowedB, 'gone')).toBeUndefined();
    expect((await cm(allowedA, 'keep'))?.data).toEqual({ value: 'one' });
    expect(
      await admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: allowedB, name: 'robot' }),
    ).toBeDefined();
    expect(errorsOf(secondReport).find((e) => e.object === ids.outside)?.reason).toBe('Forbidden');
    expect(errorsOf(secondReport).find((e) => e.object === ids.escalate)?.reason).toBe('Forbidden');
  }, 240_000);

  it("may impersonate the chart's preview ServiceAccount and no one else; as it, reads and dry-runs only what its rules allow", async () => {
    const token = await serviceAccountToken(agentServiceAccount());
    const preview = installed.find(
      (o) => o.kind === 'ServiceAccount' && o.metadata.name.endsWith('-preview'),
    )!;
    const as = `system:serviceaccount:${agentNamespace}:${preview.metadata.name}`;
    const keep = `/api/v1/namespaces/${allowedA}/configmaps/keep`;
    expect(await statusOf(token, 'GET', keep, as)).toBe(200);
    const apply = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: keep, namespace: ${allowedA} }\ndata: { value: pr }\n`;
    expect(
      await statusOf(token, 'PATCH', `${keep}?dryRun=All&fieldManager=strata&force=true`, as, apply),
    ).toBe(200);
    expect((await cm(allowedA, 'keep'))?.data).toEqual({ value: 'one' });
    // The ApplySet parent, to show what merging would prune; no other Secret, and no namespace outside the Roles.
    expect(
      await statusOf(token, 'GET', `/api/v1/namespaces/${agentNamespace}/secrets/strata-fleet`, as),
    ).toBe(200);
    expect(await statusOf(token, 'GET', `/api/v1/namespaces/${allowedA}/secrets`, as)).toBe(403);
    expect(await statusOf(token, 'GET', `/api/v1/namespaces/${denied}/configmaps`, as)).toBe(403);
    expect(await statusOf(token, 'DELETE', keep, as)).toBe(403);
    // The agent may impersonate that one account only: not the cluster admin, not another ServiceAccount.
    expect(await statusOf(token, 'GET', keep, 'system:admin')).toBe(403);
    expect(await statusOf(token, 'GET', keep, `system:serviceaccount:${agentNamespace}:default`)).toBe(403);
    expect(await statusOf(token, 'GET', keep, `system:serviceaccount:kube-system:default`)).toBe(403);
  }, 60_000);
});
