/**
 * A seeded generator of strategic-merge cases (a base object and a patch for it) over the kinds
 * Strata keys by the OpenAPI table, plus a custom resource, for the differential test against
 * `kustomize build`.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonMap = { [key: string]: Json };

export interface MergeCase {
  apiVersion: string;
  kind: string;
  name: string;
  base: JsonMap;
  patch: JsonMap;
}

/** mulberry32: small, fast and the same on every machine. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  some<T>(items: readonly T[], max = items.length): T[] {
    const out = items.filter(() => this.chance(0.5));
    return out.slice(0, max);
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const CONTAINERS = ['app', 'sidecar', 'proxy', 'metrics'];
const IMAGES = ['nginx:1.27', 'busybox:1.36', 'envoy:v1.30', 'prom/statsd:v0.26'];
const PORTS: JsonMap[] = [
  { containerPort: 53, protocol: 'TCP', name: 'dns-tcp' },
  { containerPort: 53, protocol: 'UDP', name: 'dns-udp' },
  { containerPort: 80, protocol: 'TCP' },
  { containerPort: 8080, name: 'http', protocol: 'TCP' },
  { containerPort: 9090, protocol: 'TCP', name: 'metrics' },
];
const ENV = ['LOG_LEVEL', 'MODE', 'REGION', 'DEBUG'];
const VOLUMES = ['config', 'data', 'cache', 'tmp'];
const FINALIZERS = ['example.com/a', 'example.com/b', 'example.com/c', 'kubernetes.io/pvc-protection'];

function container(g: Gen, name: string): JsonMap {
  const c: JsonMap = { name, image: g.pick(IMAGES) };
  const ports = g.some(PORTS, 3);
  if (ports.length > 0) c.ports = ports.map((p) => ({ ...p }));
  const env = g.some(ENV, 3);
  if (env.length > 0) c.env = env.map((n) => ({ name: n, value: `v${g.int(9)}` }));
  if (g.chance(0.3)) c.args = g.some(['--a', '--b', '--c', '--d']);
  const mounts = g.some(VOLUMES, 2);
  if (mounts.length > 0) c.volumeMounts = mounts.map((v) => ({ name: v, mountPath: `/mnt/${v}` }));
  return c;
}

function podSpec(g: Gen): JsonMap {
  const names = g.shuffle(CONTAINERS).slice(0, 1 + g.int(3));
  const spec: JsonMap = { containers: names.map((n) => container(g, n)) };
  const volumes = g.some(VOLUMES, 3);
  if (volumes.length > 0) spec.volumes = volumes.map((v) => ({ name: v, emptyDir: {} }));
  if (g.chance(0.3)) spec.tolerations = [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }];
  if (g.chance(0.3)) spec.initContainers = [container(g, 'init')];
  if (g.chance(0.3)) spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
  return spec;
}

function containerPatch(g: Gen, base: JsonMap | undefined, name: string): JsonMap {
  const c: JsonMap = { name };
  if (g.chance(0.5)) c.image = g.pick(IMAGES);
  if (g.chance(0.5)) {
    c.ports = g.some(PORTS, 2).map((p) => (g.chance(0.2) ? { ...p, hostPort: 1000 + g.int(9) } : { ...p }));
    const existing = (base?.ports as JsonMap[] | undefined) ?? [];
    const set = c.ports as JsonMap[];
    const unset = existing.filter(
      (p) => !set.some((q) => q.containerPort === p.containerPort && q.protocol === p.protocol),
    );
    // A patch that both sets and deletes one port contradicts itself; kustomize keeps the first.
    if (unset.length > 0 && g.chance(0.3)) {
      const victim = g.pick(unset);
      (c.ports as JsonMap[]).push({
        containerPort: victim.containerPort!,
        protocol: victim.protocol!,
        $patch: 'delete',
      });
    }
  }
  if (g.chance(0.4)) c.env = g.some(ENV, 2).map((n) => ({ name: n, value: `p${g.int(9)}` }));
  if (g.chance(0.2)) c.args = ['--patched'];
  if (g.chance(0.2)) c.resources = { limits: { cpu: `${1 + g.int(4)}00m` } };
  return c;
}

function podSpecPatch(g: Gen, base: JsonMap): JsonMap {
  const patch: JsonMap = {};
  const existing = base.containers as JsonMap[];
  const containers: JsonMap[] = [];
  for (const c of existing) {
    if (g.chance(0.5)) containers.push(containerPatch(g, c, c.name as string));
    else if (existing.length > 1 && g.chance(0.15)) containers.push({ name: c.name!, $patch: 'delete' });
  }
  const fresh = CONTAINERS.filter((n) => !existing.some((c) => c.name === n));
  if (fresh.length > 0 && g.chance(0.3)) containers.push(container(g, g.pick(fresh)));
  if (containers.length > 0) patch.containers = g.shuffle(containers);
  if (g.chance(0.3)) patch.volumes = g.some(VOLUMES, 2).map((v) => ({ name: v, configMap: { name: v } }));
  if (g.chance(0.2)) patch.tolerations = [{ key: 'patched', operator: 'Exists' }];
  if (g.chance(0.2)) patch.nodeSelector = g.chance(0.5) ? { zone: 'a' } : { 'kubernetes.io/os': null };
  if (g.chance(0.1)) patch.serviceAccountName = 'patched';
  return patch;
}

function metadata(g: Gen, name: string): JsonMap {
  const m: JsonMap = { name, labels: { app: name, tier: g.pick(['web', 'db']) } };
  if (g.chance(0.4)) m.finalizers = g.some(FINALIZERS, 3);
  if (g.chance(0.3)) m.annotations = { note: 'base' };
  return m;
}

function metadataPatch(g: Gen, name: string): JsonMap {
  const m: JsonMap = { name };
  if (g.chance(0.4)) m.labels = g.chance(0.5) ? { tier: 'patched' } : { extra: 'yes-please', tier: null };
  if (g.chance(0.3)) m.finalizers = g.some(FINALIZERS, 2);
  if (g.chance(0.2)) m.annotations = { note: 'patched' };
  return m;
}

type Shape = (g: Gen, name: string) => { base: JsonMap; patch: JsonMap };

const templated =
  (wrap: (template: JsonMap) => JsonMap, unwrap: (spec: JsonMap) => JsonMap): Shape =>
  (g, name) => {
    const spec = podSpec(g);
    const template: JsonMap = { metadata: { labels: { app: name } }, spec };
    const patchTemplate: JsonMap = { spec: podSpecPatch(g, spec) };
    if (g.chance(0.2)) patchTemplate.metadata = { labels: { rollout: `r${g.int(9)}` } };
    const base = wrap(template);
    const patch = wrap(patchTemplate);
    if (g.chance(0.3) && 'replicas' in unwrap(base)) unwrap(patch).replicas = 1 + g.int(5);
    return { base, patch };
  };

const SHAPES: Record<string, { apiVersion: string; shape: Shape }> = {
  Deployment: {
    apiVersion: 'apps/v1',
    shape: templated(
      (template) => ({ replicas: 2, selector: { matchLabels: { app: 'x' } }, template }),
      (spec) => spec,
    ),
  },
  StatefulSet: {
    apiVersion: 'apps/v1',
    shape: templated(
      (template) => ({ replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'x' } }, template }),
      (spec) => spec,
    ),
  },
  DaemonSet: {
    apiVersion: 'apps/v1',
    shape: templated(
      (template) => ({ selector: { matchLabels: { app: 'x' } }, template }),
      (spec) => spec,
    ),
  },
  Job: {
    apiVersion: 'batch/v1',
    shape: templated(
      (template) => ({ backoffLimit: 2, template }),
      (spec) => spec,
    ),
  },
  CronJob: {
    apiVersion: 'batch/v1',
    shape: templated(
      (template) => ({ schedule: '*/5 * * * *', jobTemplate: { spec: { template } } }),
      (spec) => spec,
    ),
  },
  PodTemplate: {
    apiVersion: 'v1',
    shape: (g, name) => {
      const spec = podSpec(g);
      return {
        base: { template: { metadata: { labels: { app: name } }, spec } },
        patch: { template: { spec: podSpecPatch(g, spec) } },
      };
    },
  },
  Service: {
    apiVersion: 'v1',
    shape: (g) => {
      const all: JsonMap[] = [
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
      ];
      const ports = g.some(all);
      const base: JsonMap = { selector: { app: 'x' }, ports: ports.length > 0 ? ports : [all[2]!] };
      const patch: JsonMap = {};
      if (g.chance(0.7)) {
        patch.ports = g.some(all, 2).map((p) => ({ ...p, targetPort: 9000 + g.int(9) }));
        const set = patch.ports as JsonMap[];
        if (!set.some((p) => p.port === 80) && g.chance(0.3))
          set.push({ port: 80, protocol: 'TCP', $patch: 'delete' });
      }
      if (g.chance(0.3)) patch.selector = { app: 'x', version: 'v2' };
      if (g.chance(0.2)) patch.type = 'NodePort';
      return { base, patch };
    },
  },
  Ingress: {
    apiVersion: 'networking.k8s.io/v1',
    shape: (g) => {
      const rule = (host: string): JsonMap => ({
        host,
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
          ],
        },
      });
      const base: JsonMap = { ingressClassName: 'nginx', rules: [rule('a.example.com')] };
      if (g.chance(0.4)) base.tls = [{ hosts: ['a.example.com'], secretName: 'a-tls' }];
      const patch: JsonMap = {};
      if (g.chance(0.6)) patch.rules = [rule(g.pick(['b.example.com', 'a.example.com']))];
      if (g.chance(0.3)) patch.tls = [{ hosts: ['b.example.com'], secretName: 'b-tls' }];
      if (g.chance(0.2)) patch.ingressClassName = 'traefik';
      return { base, patch };
    },
  },
  Widget: {
    apiVersion: 'example.com/v1',
    shape: (g) => {
      const base: JsonMap = {
        size: 3,
        items: [{ name: 'a', value: 1 }],
        settings: { color: 'red', depth: { level: 1 } },
      };
      const patch: JsonMap = {};
      if (g.chance(0.5)) patch.items = [{ name: 'b', value: 2 }];
      if (g.chance(0.5)) patch.settings = { depth: { level: 2 }, color: g.chance(0.5) ? null : 'blue' };
      if (g.chance(0.3)) patch.size = g.int(9);
      return { base, patch };
    },
  },
};

export const MERGE_KINDS = Object.keys(SHAPES);

/** `count` cases from `seed`, the kinds in turn. */
export function mergeCases(seed: number, count: number): MergeCase[] {
  const g = new Gen(random(seed));
  const cases: MergeCase[] = [];
  for (let i = 0; i < count; i++) {
    const kind = MERGE_KINDS[i % MERGE_KINDS.length]!;
    const { apiVersion, shape } = SHAPES[kind]!;
    const name = `case-${i}`;
    const { base, patch } = shape(g, name);
    const patchSpec = kind === 'PodTemplate' ? patch : { spec: patch };
    const baseSpec = kind === 'PodTemplate' ? base : { spec: base };
    cases.push({
      apiVersion,
      kind,
      name,
      base: { apiVersion, kind, metadata: metadata(g, name), ...baseSpec },
      patch: { apiVersion, kind, metadata: metadataPatch(g, name), ...patchSpec },
    });
  }
  return cases;
}
