import { posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validate } from '../../../agent/src/config/index.js';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { HELM_BUILD_TIMEOUT_MS, helmBinary, lintChart, only, renderChart, templateChart } from './helm.js';
import { FULL_AGENT_VALUES, MINIMAL_AGENT_VALUES } from './values.js';

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k as string], o);

function agentContainer(objects: KubeObject[]): Obj {
  const containers = at(only(objects, 'Deployment'), 'spec', 'template', 'spec', 'containers') as Obj[];
  expect(containers).toHaveLength(1);
  return containers[0]!;
}
function podSpec(objects: KubeObject[]): Obj {
  return at(only(objects, 'Deployment'), 'spec', 'template', 'spec') as Obj;
}
function agentConfig(objects: KubeObject[]): Obj {
  return parseYaml(at(only(objects, 'ConfigMap'), 'data', 'agent.yaml') as string) as Obj;
}
function volumes(objects: KubeObject[]): Obj[] {
  return podSpec(objects).volumes as Obj[];
}
function mounts(objects: KubeObject[]): Obj[] {
  return agentContainer(objects).volumeMounts as Obj[];
}

/** The volume (and key inside it) that a file path in the container resolves to. */
function resolveFile(objects: KubeObject[], file: string): { volume: Obj; key: string } {
  const mount = mounts(objects).find((m) => file.startsWith(`${m.mountPath as string}/`));
  if (!mount) throw new Error(`${file} is not under any volumeMount`);
  const volume = volumes(objects).find((v) => v.name === mount.name);
  if (!volume) throw new Error(`volumeMount ${mount.name as string} has no volume`);
  return { volume, key: posix.relative(mount.mountPath as string, file) };
}

beforeAll(() => {
  helmBinary();
}, HELM_BUILD_TIMEOUT_MS);

describe('strata-agent chart with minimal values', () => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = renderChart('strata-agent', MINIMAL_AGENT_VALUES);
  }, 60_000);

  it('passes helm lint --strict', () => {
    const lint = lintChart('strata-agent', MINIMAL_AGENT_VALUES);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
  });

  it('renders exactly the agent objects, all in the release namespace or cluster-scoped', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of objects) {
      if (o.kind.startsWith('Cluster')) expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace).toBe('strata-system');
    }
  });

  it('writes an agent config the agent itself accepts: in-cluster, its inventory in the release namespace, state in /var/lib/strata', () => {
    const config = agentConfig(objects);
    expect(config).toEqual({
      cluster: { name: 'prod-hz', labels: {} },
      // A sources list in the values replaces the chart's default list: unset fields keep the agent's defaults.
      sources: [{ name: 'fleet', url: 'https://git.example.com/platform/fleet.git' }],
      kube: { inCluster: true, namespace: 'strata-system' },
      drift: { policy: 'correct', interval: '5m' },
      prune: { enabled: true, maxFraction: 0.5, allow: ['*'] },
      stateDir: '/var/lib/strata',
      listen: '0.0.0.0:9090',
      log: { level: 'info' },
    });
    const loaded = validate(config, '/etc/strata/agent.yaml');
    expect(loaded.kube).toEqual({
      inCluster: true,
      namespace: 'strata-system',
      timeout: 60_000,
      execEnv: [],
      insecureSkipTlsVerify: false,
    });
    expect(loaded.sources[0]).toMatchObject({ ref: 'main', interval: 60_000 });
    expect(loaded.hub).toBeUndefined();
  });

  it('runs one agent with Recreate, as `strata agent --config /etc/strata/agent.yaml` from the ConfigMap', () => {
    const deployment = only(objects, 'Deployment');
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    const container = agentContainer(objects);
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual(['agent', '--config', '/etc/strata/agent.yaml']);
    const { volume, key } = resolveFile(objects, '/etc/strata/agent.yaml');
    expect(at(volume, 'configMap', 'name')).toBe(only(objects, 'ConfigMap').metadata.name);
    expect(key).toBe('agent.yaml');
    expect(container.image).toBe('strata:0.1.0');
  });

  it('runs as uid 10001, non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp', () => {
    const pod = podSpec(objects).securityContext as Obj;
    expect(pod).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(agentContainer(objects).securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('gives every path the agent writes a writable volume: state on an emptyDir, and /tmp', () => {
    const config = agentConfig(objects);
    const state = resolveFile(objects, `${config.stateDir as string}/outbox`);
    expect(state.volume.emptyDir).toEqual({});
    const tmp = resolveFile(objects, '/tmp/x');
    expect(tmp.volume.emptyDir).toBeDefined();
    for (const path of [config.stateDir, '/tmp']) {
      const mount = mounts(objects).find((m) => m.mountPath === path);
      expect(mount?.readOnly, `${path as string} must be writable`).not.toBe(true);
    }
  });

  it('sets resource requests and limits', () => {
    const resources = agentContainer(objects).resources as Obj;
    expect(Object.keys(resources.requests as Obj).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(resources.limits as Obj).sort()).toEqual(['cpu', 'memory']);
  });

  it('probes /healthz for liveness and /readyz for readiness on the port the config listens on', () => {
    const container = agentContainer(objects);
    const ports = container.ports as Obj[];
    const listenPort = Number((agentConfig(objects).listen as string).split(':').at(-1));
    expect(ports).toEqual([{ name: 'http', containerPort: listenPort, protocol: 'TCP' }]);
    expect(at(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'http' });
    expect(at(container, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'http' });
  });

  it('grants its service account every verb on every resource through a ClusterRole', () => {
    const role = only(objects, 'ClusterRole');
    expect(role.rules).toEqual([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    const binding = only(objects, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role.metadata.name,
    });
    const sa = only(objects, 'ServiceAccount');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'strata-system' },
    ]);
    expect(podSpec(objects).serviceAccountName).toBe(sa.metadata.name);
  });

  it('exposes the metrics port through a Service that selects the agent pod', () => {
    const service = only(objects, 'Service');
    const podLabels = at(only(objects, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Obj;
    const selector = at(service, 'spec', 'selector') as Obj;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(selector)) expect(podLabels[k]).toBe(v);
    expect(at(service, 'spec', 'ports')).toEqual([
      { name: 'http-metrics', port: 9090, targetPort: 'http', protocol: 'TCP' },
    ]);
  });

  it('restarts the agent when its configuration changes', () => {
    const checksum = (o: KubeObject[]) =>
      at(only(o, 'Deployment'), 'spec', 'template', 'metadata', 'annotations', 'checksum/config');
    const other = renderChart('strata-agent', { ...MINIMAL_AGENT_VALUES, cluster: { name: 'prod-sh' } });
    expect(checksum(objects)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(other)).not.toBe(checksum(objects));
    expect(checksum(renderChart('strata-agent', MINIMAL_AGENT_VALUES))).toBe(checksum(objects));
  });
});

/** The objects of the chart without the preview identity's (named `<fullname>-preview…`). */
function agentRbac(objects: KubeObject[]): KubeObject[] {
  return objects.filter((o) => !/-preview(-|$)/.test(o.metadata.name));
}

describe('strata-agent chart with every option set', () => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = renderChart('strata-agent', FULL_AGENT_VALUES);
  }, 60_000);

  it('passes helm lint --strict', () => {
    const lint = lintChart('strata-agent', FULL_AGENT_VALUES);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
  });

  it('writes every option into an agent config the agent accepts', () => {
    const config = agentConfig(objects);
    const loaded = validate(config, '/etc/strata/agent.yaml');
    expect(loaded.cluster).toEqual({ name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } });
    expect(loaded.sources.map((s) => s.name)).toEqual(['fleet', 'addons']);
    expect(loaded.sources[0]).toMatchObject({
      ref: 'release',
      path: 'fleet',
      interval: 30_000,
      previewRefs: 'refs/pull/*/head',
    });
    expect(loaded.sources[1]).toMatchObject({ schedule: '0 */5 * * * *', timeout: 120_000 });
    expect(loaded.hub).toMatchObject({ url: 'https://hub.example.com', timeout: 15_000 });
    expect(loaded.drift).toEqual({ policy: 'report', interval: 600_000 });
    expect(loaded.prune).toEqual({
      enabled: false,
      maxFraction: 0.25,
      allow: ['apps/Deployment', '/ConfigMap'],
    });
    expect(loaded.outbox.maxReports).toBe(1000);
    expect(loaded.log.level).toBe('debug');
  });

  it('points every credential file of the config at the key of the Secret the values name', () => {
    const config = agentConfig(objects);
    const expectSecretFile = (file: unknown, secret: string, key: string) => {
      const resolved = resolveFile(objects, file as string);
      expect(at(resolved.volume, 'secret', 'secretName')).toBe(secret);
      expect(resolved.key).toBe(key);
      const mount = mounts(objects).find((m) => m.name === resolved.volume.name);
      expect(mount?.readOnly).toBe(true);
    };
    const [fleet, addons] = config.sources as Obj[];
    expect(Object.keys(fleet!.auth as Obj)).toEqual(['tokenFile']);
    expectSecretFile(at(fleet, 'auth', 'tokenFile'), 'fleet-git', 'pat');
    expect(Object.keys(addons!.auth as Obj).sort()).toEqual(['passwordFile', 'usernameFile']);
    expectSecretFile(at(addons, 'auth', 'usernameFile'), 'addons-git', 'user');
    expectSecretFile(at(addons, 'auth', 'passwordFile'), 'addons-git', 'password');
    expectSecretFile(at(config, 'hub', 'tokenFile'), 'hub-token', 'token');
    expectSecretFile(at(config, 'hub', 'caFile'), 'corp-ca', 'ca.pem');
    expectSecretFile(at(config, 'syncTokenFile'), 'agent-sync', 'sync-token');
  });

  it('makes Node trust the CA for Git as well as the hub', () => {
    const env = agentContainer(objects).env as Obj[];
    expect(env).toContainEqual({
      name: 'NODE_EXTRA_CA_CERTS',
      value: at(agentConfig(objects), 'hub', 'caFile'),
    });
  });

  it('keeps the state on a PersistentVolumeClaim that survives uninstall', () => {
    const pvc = only(objects, 'PersistentVolumeClaim');
    expect(at(pvc, 'spec', 'resources', 'requests', 'storage')).toBe('5Gi');
    expect(at(pvc, 'spec', 'storageClassName')).toBe('fast');
    expect(pvc.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const state = resolveFile(objects, '/var/lib/strata/outbox');
    expect(state.volume.persistentVolumeClaim).toEqual({ claimName: pvc.metadata.name });
  });

  it('grants only the listed resources in the listed namespaces, its inventory namespace, and reading namespaces', () => {
    // The preview identity's own own are checked in their own tests below.
    const own = agentRbac(objects);
    const clusterRoles = own.filter((o) => o.kind === 'ClusterRole');
    expect(clusterRoles.map((r) => r.rules)).toEqual([
      [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }],
    ]);
    const roles = own.filter((o) => o.kind === 'Role');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['shop', 'strata-system', 'web']);
    const shop = roles.find((r) => r.metadata.namespace === 'shop')!;
    const rules = shop.rules as Obj[];
    expect(rules).toContainEqual({
      apiGroups: ['apps'],
      resources: ['deployments', 'statefulsets', 'daemonsets'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    });
    expect(rules.flatMap((r) => r.resources as string[])).not.toContain('*');
    const inventory = roles.find((r) => r.metadata.namespace === at(agentConfig(own), 'kube', 'namespace'))!;
    expect((inventory.rules as Obj[]).flatMap((r) => r.resources as string[]).sort()).toEqual([
      'configmaps',
      'secrets',
    ]);
    const sa = only(own, 'ServiceAccount');
    for (const binding of own.filter((o) => o.kind === 'RoleBinding')) {
      const role = roles.find(
        (r) =>
          r.metadata.namespace === binding.metadata.namespace &&
          r.metadata.name === at(binding, 'roleRef', 'name'),
      );
      expect(role, `RoleBinding ${binding.metadata.namespace}/${binding.metadata.name}`).toBeDefined();
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'strata-system' },
      ]);
    }
  });

  it('renders a ServiceMonitor that scrapes the Service metrics port', () => {
    const monitor = only(objects, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    const service = only(objects, 'Service');
    for (const [k, v] of Object.entries(at(monitor, 'spec', 'selector', 'matchLabels') as Obj)) {
      expect(service.metadata.labels?.[k]).toBe(v);
    }
    const ports = (at(service, 'spec', 'ports') as Obj[]).map((p) => p.name);
    expect(at(monitor, 'spec', 'endpoints', 0, 'port')).toBe(ports[0]);
    expect(at(monitor, 'spec', 'endpoints', 0, 'path')).toBe('/metrics');
  });
});

describe('strata-agent chart with an SSH source', () => {
  const sshSource = {
    name: 'fleet',
    url: 'git@git.example.com:platform/fleet.git',
    auth: { existingSecret: 'fleet-ssh', sshKeyKey: 'identity', knownHostsKey: 'known_hosts' },
  };

  it('points sshKeyFile and knownHostsFile at the Secret keys, and the config validates', () => {
    const objects = renderChart('strata-agent', { ...MINIMAL_AGENT_VALUES, sources: [sshSource] });
    const config = agentConfig(objects);
    const [fleet] = config.sources as Obj[];
    expect(Object.keys(fleet!.auth as Obj).sort()).toEqual(['knownHostsFile', 'sshKeyFile']);
    for (const [field, key] of [
      ['sshKeyFile', 'identity'],
      ['knownHostsFile', 'known_hosts'],
    ] as const) {
      const resolved = resolveFile(objects, at(fleet, 'auth', field) as string);
      expect(at(resolved.volume, 'secret', 'secretName')).toBe('fleet-ssh');
      expect(resolved.key).toBe(key);
    }
    expect(validate(config).sources[0]?.kind).toBe('git');
  }, 60_000);

  it('refuses an SSH key without a known hosts key', () => {
    const auth = { existingSecret: 'fleet-ssh', sshKeyKey: 'identity' };
    const result = templateChart('strata-agent', {
      ...MINIMAL_AGENT_VALUES,
      sources: [{ ...sshSource, auth }],
    });
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain('sources[0].auth: SSH needs existingSecret, sshKeyKey and knownHostsKey');
  }, 60_000);
});

describe('strata-agent chart refuses bad values with a message naming the field', () => {
  const failure = (values: unknown) => {
    const result = templateChart('strata-agent', values);
    expect(result.ok).toBe(false);
    return result.stderr;
  };

  it('requires the cluster name', () => {
    expect(failure({ sources: MINIMAL_AGENT_VALUES.sources })).toContain("at '/cluster/name'");
  });

  it('requires a source URL (the defaults alone do not render)', () => {
    expect(failure({ cluster: { name: 'prod-hz' } })).toContain("at '/sources/0/url'");
  });

  it('refuses two sources with the same name', () => {
    const values = {
      ...MINIMAL_AGENT_VALUES,
      sources: [MINIMAL_AGENT_VALUES.sources[0], MINIMAL_AGENT_VALUES.sources[0]],
    };
    expect(failure(values)).toContain('sources[1].name: "fleet" is used by more than one source');
  });

  it('refuses a source path that climbs out of the repository', () => {
    const values = {
      ...MINIMAL_AGENT_VALUES,
      sources: [{ ...MINIMAL_AGENT_VALUES.sources[0], path: 'fleet/../../etc' }],
    };
    expect(failure(values)).toContain("at '/sources/0/path'");
  });

  it('refuses a username key without a password key', () => {
    const auth = { existingSecret: 'git', usernameKey: 'user' };
    const values = { ...MINIMAL_AGENT_VALUES, sources: [{ ...MINIMAL_AGENT_VALUES.sources[0], auth }] };
    expect(failure(values)).toContain('sources[0].auth.passwordKey: required when usernameKey is set');
  });

  it('refuses namespaced RBAC without namespaces', () => {
    expect(failure({ ...MINIMAL_AGENT_VALUES, rbac: { scope: 'namespaced' } })).toContain(
      'rbac.namespaced.namespaces',
    );
  });

  it('refuses a drift policy the agent does not know', () => {
    expect(failure({ ...MINIMAL_AGENT_VALUES, drift: { policy: 'ignore' } })).toContain("at '/drift/policy'");
  });

  it('refuses a hub token without a hub URL', () => {
    expect(failure({ ...MINIMAL_AGENT_VALUES, hub: { auth: { existingSecret: 'hub' } } })).toContain(
      'hub.url',
    );
  });
});

describe('strata-agent chart: which PRs are previewed, and as whom', () => {
  let objects: KubeObject[];
  let full: string;
  beforeAll(() => {
    objects = renderChart('strata-agent', FULL_AGENT_VALUES);
    full = only(objects, 'Deployment').metadata.name;
  }, 60_000);

  it('writes the preview policy with its key files on the ConfigMap the values name, and the config validates', () => {
    const config = agentConfig(objects);
    const fleet = (config.sources as Obj[])[0]!;
    expect(fleet.previewPolicy).toEqual({
      trust: 'signed',
      allowRefs: ['refs/heads/preview/*'],
      openWhile: 'refs/pull/*/merge',
      maxAge: '14d',
      keys: [
        '/var/run/strata/preview-keys/fleet/allowed_signers',
        '/var/run/strata/preview-keys/fleet/release.asc',
      ],
    });
    const files = (fleet.previewPolicy as { keys: string[] }).keys;
    for (const [i, key] of ['allowed_signers', 'release.asc'].entries()) {
      const resolved = resolveFile(objects, files[i] as string);
      expect(at(resolved.volume, 'configMap', 'name')).toBe('fleet-reviewers');
      expect(resolved.key).toBe(key);
      expect(mounts(objects).find((m) => m.name === resolved.volume.name)?.readOnly).toBe(true);
    }
    const loaded = validate(config, '/etc/strata/agent.yaml');
    expect(loaded.sources[0]?.previewPolicy?.keys).toHaveLength(2);
    expect(loaded.sources[0]?.previewPolicy?.maxAge).toBe(14 * 86_400_000);
    expect(loaded.sources[1]?.previewPolicy).toBeUndefined();
  });

  it('runs previews as their own ServiceAccount, which the agent may impersonate and nothing else', () => {
    const config = agentConfig(objects);
    expect(at(config, 'kube', 'previewServiceAccount')).toBe(`strata-system/${full}-preview`);
    const preview = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === `${full}-preview`);
    expect(preview?.metadata.namespace).toBe('strata-system');
    expect((preview as Obj | undefined)?.automountServiceAccountToken).toBe(false);
    const impersonate = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name === `${full}-impersonate-preview`,
    );
    expect(impersonate?.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['serviceaccounts'],
        resourceNames: [`${full}-preview`],
        verbs: ['impersonate'],
      },
    ]);
    const binding = objects.find(
      (o) => o.kind === 'RoleBinding' && o.metadata.name === `${full}-impersonate-preview`,
    );
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: full, namespace: 'strata-system' }]);
  });

  it('lets the preview identity read and dry-run the listed kinds in the managed namespaces only, and no Secret but the ApplySet parents', () => {
    const subject = { kind: 'ServiceAccount', name: `${full}-preview`, namespace: 'strata-system' };
    const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === `${full}-preview`)!;
    const rules = role.rules as Obj[];
    expect(rules.flatMap((r) => r.resources as string[])).not.toContain('secrets');
    expect(rules.flatMap((r) => r.verbs as string[])).not.toContain('delete');
    expect(rules).toContainEqual({
      apiGroups: ['apps'],
      resources: ['deployments', 'statefulsets', 'daemonsets'],
      verbs: ['get', 'list', 'create', 'patch'],
    });
    // Namespaced scope: the ClusterRole is bound per managed namespace, never cluster-wide.
    const bindings = objects.filter((o) => at(o, 'roleRef', 'name') === `${full}-preview`);
    expect(bindings.map((b) => `${b.kind} ${b.metadata.namespace}`).sort()).toEqual([
      'RoleBinding shop',
      'RoleBinding web',
    ]);
    for (const b of bindings) expect(b.subjects).toEqual([subject]);
    const inventory = objects.find(
      (o) => o.kind === 'Role' && o.metadata.name === `${full}-preview-inventory`,
    );
    expect(inventory?.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['strata-fleet', 'strata-addons'],
        verbs: ['get'],
      },
    ]);
  });

  it('binds the preview rules cluster-wide with rbac.scope cluster', () => {
    const cluster = renderChart('strata-agent', { ...FULL_AGENT_VALUES, rbac: { scope: 'cluster' } });
    const bindings = cluster.filter((o) => at(o, 'roleRef', 'name') === `${full}-preview`);
    expect(bindings.map((b) => b.kind)).toEqual(['ClusterRoleBinding']);
  }, 60_000);

  it('refuses previewRefs with no trusted key, allowRefs or trust: everyone, and keys with trust: everyone', () => {
    const source = { ...MINIMAL_AGENT_VALUES.sources[0], previewRefs: 'refs/pull/*/head' };
    const closed = templateChart('strata-agent', { ...MINIMAL_AGENT_VALUES, sources: [source] });
    expect(closed.ok).toBe(false);
    expect(closed.stderr).toContain(
      'sources[0].previewPolicy: previewRefs are dry-run only when their head is signed by a trusted key',
    );
    const open = renderChart('strata-agent', {
      ...MINIMAL_AGENT_VALUES,
      sources: [{ ...source, previewPolicy: { trust: 'everyone' } }],
    });
    expect(at((agentConfig(open).sources as Obj[])[0], 'previewPolicy')).toEqual({ trust: 'everyone' });
    const both = templateChart('strata-agent', {
      ...MINIMAL_AGENT_VALUES,
      sources: [{ ...source, previewPolicy: { trust: 'everyone', allowRefs: ['refs/heads/x'] } }],
    });
    expect(both.ok).toBe(false);
    expect(both.stderr).toContain('sources[0].previewPolicy: keys and allowRefs narrow trust: signed');
  }, 60_000);
});
