import { posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { HELM_BUILD_TIMEOUT_MS, helmBinary, lintChart, only, renderChart, templateChart } from './helm.js';
import { FULL_HUB_VALUES, MINIMAL_HUB_VALUES } from './values.js';

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k as string], o);

function podSpec(objects: KubeObject[]): Obj {
  return at(only(objects, 'Deployment'), 'spec', 'template', 'spec') as Obj;
}
function hubContainer(objects: KubeObject[]): Obj {
  const containers = podSpec(objects).containers as Obj[];
  expect(containers).toHaveLength(1);
  return containers[0]!;
}
/** The value after a flag in the container's args. */
function flag(objects: KubeObject[], name: string): string {
  const args = hubContainer(objects).args as string[];
  const i = args.indexOf(name);
  expect(i, `${name} in ${args.join(' ')}`).toBeGreaterThan(-1);
  return args[i + 1]!;
}
/** The volume mounted at the folder holding the database file. */
function databaseVolume(objects: KubeObject[]): Obj {
  const folder = posix.dirname(flag(objects, '--db'));
  const mount = (hubContainer(objects).volumeMounts as Obj[]).find((m) => m.mountPath === folder);
  expect(mount, `a volume mounted at ${folder}`).toBeDefined();
  expect(mount!.readOnly).not.toBe(true);
  return (podSpec(objects).volumes as Obj[]).find((v) => v.name === mount!.name)!;
}

beforeAll(() => {
  helmBinary();
}, HELM_BUILD_TIMEOUT_MS);

describe('strata-hub chart with default values', () => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = renderChart('strata-hub', MINIMAL_HUB_VALUES);
  }, 60_000);

  it('passes helm lint --strict', () => {
    const lint = lintChart('strata-hub', MINIMAL_HUB_VALUES);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
  });

  it('renders a Deployment, a Service, a ServiceAccount and a PersistentVolumeClaim, and no RBAC', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'PersistentVolumeClaim',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('runs one hub with Recreate as `strata hub serve --db /var/lib/strata-hub/hub.db --listen 0.0.0.0:8080`', () => {
    const deployment = only(objects, 'Deployment');
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    expect(hubContainer(objects).command).toBeUndefined();
    expect(hubContainer(objects).args).toEqual([
      'hub',
      'serve',
      '--db',
      '/var/lib/strata-hub/hub.db',
      '--listen',
      '0.0.0.0:8080',
    ]);
  });

  it('keeps the SQLite file on the PersistentVolumeClaim, kept on uninstall', () => {
    const pvc = only(objects, 'PersistentVolumeClaim');
    expect(databaseVolume(objects).persistentVolumeClaim).toEqual({ claimName: pvc.metadata.name });
    expect(pvc.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(at(pvc, 'spec', 'accessModes')).toEqual(['ReadWriteOnce']);
  });

  it('runs non-root on a read-only root filesystem with a writable /tmp, without a service account token', () => {
    expect(podSpec(objects).securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(hubContainer(objects).securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = (hubContainer(objects).volumeMounts as Obj[]).find((m) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    expect(podSpec(objects).automountServiceAccountToken).toBe(false);
  });

  it('probes /healthz on the port it listens on, which the Service targets', () => {
    const container = hubContainer(objects);
    const listenPort = Number(flag(objects, '--listen').split(':').at(-1));
    expect(container.ports).toEqual([{ name: 'http', containerPort: listenPort, protocol: 'TCP' }]);
    expect(at(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'http' });
    expect(at(container, 'readinessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'http' });
    const service = only(objects, 'Service');
    expect(at(service, 'spec', 'ports', 0, 'targetPort')).toBe('http');
    const podLabels = at(only(objects, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Obj;
    for (const [k, v] of Object.entries(at(service, 'spec', 'selector') as Obj)) expect(podLabels[k]).toBe(v);
  });

  it('sets resource requests and limits', () => {
    const resources = hubContainer(objects).resources as Obj;
    expect(Object.keys(resources.requests as Obj).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(resources.limits as Obj).sort()).toEqual(['cpu', 'memory']);
  });
});

describe('strata-hub chart with every option set', () => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = renderChart('strata-hub', FULL_HUB_VALUES);
  }, 60_000);

  it('passes helm lint --strict', () => {
    const lint = lintChart('strata-hub', FULL_HUB_VALUES);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
  });

  it('keeps the database on an emptyDir and renders no claim when persistence is off', () => {
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(databaseVolume(objects).emptyDir).toEqual({});
  });

  it('passes the read token file from the named Secret, and the extra flags, to strata hub serve', () => {
    const file = flag(objects, '--read-token-file');
    const mount = (hubContainer(objects).volumeMounts as Obj[]).find((m) =>
      file.startsWith(`${m.mountPath as string}/`),
    );
    expect(mount?.readOnly).toBe(true);
    const volume = (podSpec(objects).volumes as Obj[]).find((v) => v.name === mount!.name)!;
    expect(at(volume, 'secret', 'secretName')).toBe('hub-read');
    expect(posix.relative(mount!.mountPath as string, file)).toBe('read-token');
    expect(flag(objects, '--keep-reports')).toBe('500');
  });

  it('listens, probes and serves on the configured port', () => {
    expect(flag(objects, '--listen')).toBe('0.0.0.0:8443');
    expect(at(hubContainer(objects), 'ports', 0, 'containerPort')).toBe(8443);
    expect(at(only(objects, 'Service'), 'spec', 'type')).toBe('NodePort');
    expect(at(only(objects, 'Service'), 'spec', 'ports', 0, 'port')).toBe(8080);
  });

  it('renders a ServiceMonitor that scrapes the Service port at /metrics', () => {
    const monitor = only(objects, 'ServiceMonitor');
    const service = only(objects, 'Service');
    for (const [k, v] of Object.entries(at(monitor, 'spec', 'selector', 'matchLabels') as Obj)) {
      expect(service.metadata.labels?.[k]).toBe(v);
    }
    expect(at(monitor, 'spec', 'endpoints', 0)).toMatchObject({
      port: at(service, 'spec', 'ports', 0, 'name'),
      path: '/metrics',
      interval: '15s',
    });
  });

  it('refuses a port out of range, naming the field', () => {
    const result = templateChart('strata-hub', { listenPort: 70000 });
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain("at '/listenPort'");
  });
});

describe('strata-hub chart on PostgreSQL', () => {
  let objects: KubeObject[];
  const values = {
    replicas: 3,
    database: { existingSecret: 'hub-db', key: 'url' },
    readToken: { existingSecret: 'hub-read', key: 'token' },
  };
  beforeAll(() => {
    objects = renderChart('strata-hub', values);
  }, 60_000);

  it('passes helm lint --strict', () => {
    const lint = lintChart('strata-hub', values);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
  });

  it('runs N stateless replicas with a rolling update, the database URL from the Secret, and no volume for data', () => {
    const deployment = only(objects, 'Deployment');
    expect(at(deployment, 'spec', 'replicas')).toBe(3);
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate' });
    expect(flag(objects, '--db')).toBe('$(STRATA_HUB_DB)');
    const env = (hubContainer(objects).env as Obj[]).find((e) => e.name === 'STRATA_HUB_DB');
    expect(env).toEqual({
      name: 'STRATA_HUB_DB',
      valueFrom: { secretKeyRef: { name: 'hub-db', key: 'url' } },
    });
    expect(objects.map((o) => o.kind)).not.toContain('PersistentVolumeClaim');
    expect((hubContainer(objects).volumeMounts as Obj[]).map((m) => m.mountPath)).toEqual([
      '/tmp',
      '/var/run/secrets/strata/read-token',
    ]);
  });

  it('takes a plain URL too', () => {
    const plain = renderChart('strata-hub', {
      replicas: 2,
      database: { url: 'postgres://hub@db.example/strata' },
      publicRead: true,
    });
    expect(hubContainer(plain).args).toContain('--public-read');
    const env = (hubContainer(plain).env as Obj[]).find((e) => e.name === 'STRATA_HUB_DB');
    expect(env).toEqual({ name: 'STRATA_HUB_DB', value: 'postgres://hub@db.example/strata' });
  });

  it('refuses replicas without one shared read token, unless reads are public', () => {
    const result = templateChart('strata-hub', { replicas: 2, database: { existingSecret: 'hub-db' } });
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain(
      'on PostgreSQL every replica needs the same read token: set readToken.existingSecret (or publicRead: true)',
    );
    const both = templateChart('strata-hub', { readToken: { existingSecret: 'r' }, publicRead: true });
    expect(both.ok).toBe(false);
    expect(both.stderr).toContain('readToken.existingSecret and publicRead exclude each other');
  });

  it('refuses more than one replica on SQLite, naming the values to set', () => {
    const result = templateChart('strata-hub', { replicas: 2 });
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(
      /replicas above 1 need PostgreSQL: set database\.url or database\.existingSecret/,
    );
  });
});

describe('strata-hub chart serving TLS itself', () => {
  let objects: KubeObject[];
  const values = { tls: { existingSecret: 'hub-tls' }, serviceMonitor: { enabled: true } };
  beforeAll(() => {
    objects = renderChart('strata-hub', values);
  }, 60_000);

  it('passes the kubernetes.io/tls Secret as --tls-cert and --tls-key, and probes and scrapes over HTTPS', () => {
    const lint = lintChart('strata-hub', values);
    expect(lint.ok, lint.stderr + lint.stdout).toBe(true);
    const cert = flag(objects, '--tls-cert');
    const key = flag(objects, '--tls-key');
    const mount = (hubContainer(objects).volumeMounts as Obj[]).find((m) =>
      cert.startsWith(`${m.mountPath as string}/`),
    )!;
    expect(mount.readOnly).toBe(true);
    expect([posix.basename(cert), posix.basename(key), posix.dirname(key)]).toEqual([
      'tls.crt',
      'tls.key',
      mount.mountPath,
    ]);
    const volume = (podSpec(objects).volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(at(volume, 'secret', 'secretName')).toBe('hub-tls');
    expect(at(hubContainer(objects), 'livenessProbe', 'httpGet', 'scheme')).toBe('HTTPS');
    expect(at(hubContainer(objects), 'readinessProbe', 'httpGet', 'scheme')).toBe('HTTPS');
    expect(at(only(objects, 'ServiceMonitor'), 'spec', 'endpoints', 0, 'scheme')).toBe('https');
    // SQLite without a read token Secret: the hub generates its token on the volume, no flag needed.
    expect(hubContainer(objects).args).not.toContain('--public-read');
    expect(hubContainer(objects).args).not.toContain('--read-token-file');
  });
});
