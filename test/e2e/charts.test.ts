// The Helm charts against a real apiserver: every object `helm template` renders is server-side
// applied with dryRun=All and fieldValidation=Strict to lab cluster hz (admission, defaulting,
// schema and unknown-field checks, nothing stored), and the agent is started the way the chart's
// Deployment runs it, against the same cluster.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../agent/src/model/object.js';
import { objectId } from '../../agent/src/model/object.js';
import { commitFiles, createRepo, type GitServer, startGitServer } from '../git/index.js';
import { eventually } from '../support/eventually.js';
import { HELM_BUILD_TIMEOUT_MS, helmBinary, only, REPO, renderChart } from '../unit/charts/helm.js';
import { buildApp, freePort, httpStatus, layOutPod } from '../unit/charts/pod.js';
import {
  FULL_AGENT_VALUES,
  FULL_HUB_VALUES,
  MINIMAL_AGENT_VALUES,
  MINIMAL_HUB_VALUES,
} from '../unit/charts/values.js';
import { labCluster } from './support/lab.js';

const FIELD_MANAGER = 'strata-e2e-charts';

interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Plain JSON requests with the kubeconfig's credentials: every field we send reaches the apiserver. */
class Apiserver {
  private readonly server: URL;
  private readonly plurals = new Map<string, { resource: string; namespaced: boolean }>();

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the lab kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiAnswer> {
    const options: https.RequestOptions = {
      method,
      hostname: this.server.hostname,
      port: this.server.port,
      path,
      headers: { Accept: 'application/json', 'Content-Type': contentType },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = https.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.end(JSON.stringify(body));
      else req.end();
    });
  }

  /** The object's URL, from discovery (so a CRD's kind resolves like a built-in one). */
  async objectPath(obj: KubeObject): Promise<string> {
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const key = `${obj.apiVersion}/${obj.kind}`;
    if (!this.plurals.has(key)) {
      const answer = await this.request('GET', base);
      if (answer.status !== 200) throw new Error(`discovery of ${obj.apiVersion} answered ${answer.status}`);
      for (const r of answer.body.resources as { name: string; kind: string; namespaced: boolean }[]) {
        if (!r.name.includes('/'))
          this.plurals.set(`${obj.apiVersion}/${r.kind}`, { resource: r.name, namespaced: r.namespaced });
      }
    }
    const info = this.plurals.get(key);
    if (!info) throw new Error(`the apiserver serves no ${key}`);
    const ns = info.namespaced ? `/namespaces/${obj.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${info.resource}/${obj.metadata.name}`;
  }

  /** Server-side apply; with dryRun the apiserver validates and admits the object but stores nothing. */
  async apply(obj: KubeObject, dryRun: boolean): Promise<ApiAnswer> {
    const query = new URLSearchParams({
      fieldManager: FIELD_MANAGER,
      force: 'true',
      fieldValidation: 'Strict',
    });
    if (dryRun) query.set('dryRun', 'All');
    return this.request(
      'PATCH',
      `${await this.objectPath(obj)}?${query}`,
      obj,
      'application/apply-patch+yaml',
    );
  }

  async delete(obj: KubeObject): Promise<void> {
    const answer = await this.request('DELETE', await this.objectPath(obj));
    if (answer.status >= 300 && answer.status !== 404) {
      throw new Error(`deleting ${objectId(obj)} answered ${answer.status}: ${answer.body.message}`);
    }
  }

  async get(obj: KubeObject): Promise<ApiAnswer> {
    return this.request('GET', await this.objectPath(obj));
  }
}

/** The Prometheus Operator's duration format. */
const DURATION =
  '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';

/**
 * The Prometheus Operator's ServiceMonitor CRD is not in the lab (nor obtainable here), so this is a
 * hand-written stand-in: same group, version, kind and scope, with a structural schema for the
 * fields the charts set (types and the operator's duration pattern). With fieldValidation=Strict a
 * field the schema does not declare is rejected, so a misspelt field in the charts fails the test.
 */
const SERVICE_MONITOR_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: {
      kind: 'ServiceMonitor',
      listKind: 'ServiceMonitorList',
      plural: 'servicemonitors',
      singular: 'servicemonitor',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                required: ['selector'],
                properties: {
                  selector: {
                    type: 'object',
                    properties: {
                      matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
                      matchExpressions: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['key', 'operator'],
                          properties: {
                            key: { type: 'string' },
                            operator: { type: 'string' },
                            values: { type: 'array', items: { type: 'string' } },
                          },
                        },
                      },
                    },
                  },
                  namespaceSelector: {
                    type: 'object',
                    properties: {
                      any: { type: 'boolean' },
                      matchNames: { type: 'array', items: { type: 'string' } },
                    },
                  },
                  endpoints: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        port: { type: 'string' },
                        path: { type: 'string' },
                        scheme: { type: 'string', enum: ['http', 'https'] },
                        interval: { type: 'string', pattern: DURATION },
                        scrapeTimeout: { type: 'string', pattern: DURATION },
                        honorLabels: { type: 'boolean' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

const suffix = randomBytes(3).toString('hex');
const namespace = `e2e-charts-${suffix}`;
const managed = [`${namespace}-shop`, `${namespace}-web`];
const namespaceObject = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

let api: Apiserver;
let createdCrd = false;

beforeAll(async () => {
  helmBinary();
  api = new Apiserver(labCluster('hz').kubeConfig);
  for (const name of [namespace, ...managed]) {
    const answer = await api.apply(namespaceObject(name), false);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  }
  createdCrd = (await api.get(SERVICE_MONITOR_CRD)).status === 404;
  if (createdCrd) {
    const answer = await api.apply(SERVICE_MONITOR_CRD, false);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  }
  await eventually('the ServiceMonitor CRD to be Established', 30_000, async () => {
    const crd = await api.get(SERVICE_MONITOR_CRD);
    const conditions = ((crd.body.status as Record<string, unknown> | undefined)?.conditions ?? []) as {
      type: string;
      status: string;
    }[];
    return conditions.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  });
}, HELM_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (!api) return;
  for (const name of [namespace, ...managed]) await api.delete(namespaceObject(name));
  if (createdCrd) await api.delete(SERVICE_MONITOR_CRD);
});

describe('rendered charts pass a real apiserver (server-side apply, dryRun=All, strict fields)', () => {
  const cases: [string, () => KubeObject[]][] = [
    [
      'strata-agent, minimal values (ClusterRole, emptyDir)',
      () => renderChart('strata-agent', MINIMAL_AGENT_VALUES, { release: `e2e-${suffix}`, namespace }),
    ],
    [
      'strata-agent, every option (namespaced RBAC, PVC, ServiceMonitor, Secrets)',
      () =>
        renderChart(
          'strata-agent',
          { ...FULL_AGENT_VALUES, rbac: { scope: 'namespaced', namespaced: { namespaces: managed } } },
          { release: `e2e-${suffix}`, namespace },
        ),
    ],
    [
      'strata-hub, default values (PVC)',
      () => renderChart('strata-hub', MINIMAL_HUB_VALUES, { release: `e2e-${suffix}`, namespace }),
    ],
    [
      'strata-hub, every option (emptyDir, ServiceMonitor)',
      () => renderChart('strata-hub', FULL_HUB_VALUES, { release: `e2e-${suffix}`, namespace }),
    ],
  ];

  it.each(cases)('%s', async (_name, render) => {
    const objects = render();
    expect(objects.length).toBeGreaterThan(3);
    const refused: string[] = [];
    for (const obj of objects) {
      const answer = await api.apply(obj, true);
      if (answer.status >= 300)
        refused.push(`${objectId(obj)}: ${answer.status} ${answer.body.message as string}`);
      else expect((answer.body.metadata as Record<string, unknown>).name).toBe(obj.metadata.name);
    }
    expect(refused).toEqual([]);
  });

  it('refuses a rendered object with a field the API does not know, so the check above is real', async () => {
    const deployment = only(renderChart('strata-hub', MINIMAL_HUB_VALUES, { namespace }), 'Deployment');
    const spec = deployment.spec as Record<string, unknown>;
    const broken = { ...deployment, spec: { ...spec, replica: 2 } };
    const answer = await api.apply(broken, true);
    // Server-side apply refuses unknown fields while building the typed patch (Kubernetes answers 500).
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.body.message).toContain('.spec.replica: field not declared in schema');
  });

  it('refuses a ServiceMonitor with a malformed scrape interval, so the stand-in CRD validates', async () => {
    const values = { ...FULL_HUB_VALUES, serviceMonitor: { enabled: true } };
    const monitor = only(renderChart('strata-hub', values, { namespace }), 'ServiceMonitor');
    const spec = monitor.spec as { endpoints: Record<string, unknown>[] };
    const broken = { ...monitor, spec: { ...spec, endpoints: [{ ...spec.endpoints[0], interval: 'soon' }] } };
    const answer = await api.apply(broken, true);
    expect(answer.status).toBe(422);
    expect(answer.body.message).toContain('interval');
  });
});

describe('the agent, started as the chart runs it', () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-e2e-charts-'));
  const app = join(REPO, '.cache', `e2e-charts-${suffix}`);
  let git: GitServer | undefined;
  let agent: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    const repo = await createRepo(join(work, 'git'), 'fleet');
    await commitFiles(repo, {
      'global/settings.yaml': [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: chart-e2e',
        `  namespace: ${namespace}`,
        'data:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Strata's own variable, replaced when rendering
        '  cluster: ${cluster.name}',
        '',
      ].join('\n'),
    });
    git = await startGitServer({ root: join(work, 'git') });
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await git?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz, and applies the fleet repository to the cluster', async () => {
    const hz = labCluster('hz');
    const values = {
      cluster: { name: 'hz', labels: { env: 'e2e' } },
      sources: [{ name: 'fleet', url: git!.url('fleet'), interval: '5s' }],
    };
    const objects = renderChart('strata-agent', values, { release: `e2e-${suffix}`, namespace });
    const pod = layOutPod(objects, join(work, 'pod'));
    const cli = buildApp(app);
    const port = await freePort();
    // Only what differs outside a pod: no service account (a kubeconfig instead), the state folder
    // and listen address on this machine. The config file itself is the ConfigMap's, unchanged.
    const outsideThePod = {
      STRATA_IN_CLUSTER: 'false',
      STRATA_KUBECONFIG: hz.kubeconfigPath,
      STRATA_STATE_DIR: join(work, 'pod/var/lib/strata'),
      STRATA_LISTEN: `127.0.0.1:${port}`,
    };
    expect(pod.args).toEqual(['agent', '--config', join(work, 'pod/etc/strata/agent.yaml')]);
    agent = spawn(process.execPath, [cli, ...pod.args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...pod.env, ...outsideThePod },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    agent.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const alive = () => {
      if (agent!.exitCode !== null)
        throw new Error(`the agent exited with ${agent!.exitCode}:\n${output.slice(-4000)}`);
    };
    const base = `http://127.0.0.1:${port}`;
    await eventually('/healthz to answer 200', 60_000, async () => {
      alive();
      return (await httpStatus(`${base}/healthz`)) === 200 ? true : undefined;
    });
    await eventually('/readyz to answer 200', 60_000, async () => {
      alive();
      return (await httpStatus(`${base}/readyz`)) === 200 ? true : undefined;
    });
    const configMap: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'chart-e2e', namespace },
    };
    const applied = await eventually('the fleet ConfigMap in the cluster', 60_000, async () => {
      alive();
      const answer = await api.get(configMap);
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(applied.data).toEqual({ cluster: 'hz' });
    expect(pod.listenPort).toBe(9090);
  }, 240_000);
});
