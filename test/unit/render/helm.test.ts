import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type KubeObject, objectId } from '../../../agent/src/model/object.js';
import {
  createRenderer,
  explainRender,
  formatRenderError,
  type RenderResult,
  renderCluster,
} from '../../../agent/src/render/index.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { toolPath } from '../../support/tools.js';
import { hz, type RepoFile, writeRepo } from './helpers.js';

const helm = toolPath('helm');
const newRunner = () =>
  createToolRunner({ binaries: { helm }, workDir: mkdtempSync(join(tmpdir(), 'strata-helm-')) });
const CAPS = { kubeVersion: 'v1.31.4', apiVersions: ['policy/v1', 'example.com/v1'] };

/** A chart of the usual shape: defaults, a CRD, cluster-scoped and namespaced objects, a hook and a test. */
const WEB_CHART: Record<string, RepoFile> = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.3.0\nappVersion: "1.0"\n',
  'charts/web/values.yaml': `replicaCount: 1
image: { repository: registry.example.com/shop/web, tag: "1.0" }
region: none
cluster: none
extraEnv: []
`,
  'charts/web/crds/widgets.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget }
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
`,
  'charts/web/templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: { app: {{ .Chart.Name }}, region: {{ .Values.region | quote }} }
spec:
  replicas: {{ .Values.replicaCount }}
  selector: { matchLabels: { app: {{ .Chart.Name }} } }
  template:
    metadata: { labels: { app: {{ .Chart.Name }} } }
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - { name: CLUSTER, value: {{ .Values.cluster | quote }} }
            {{- range .Values.extraEnv }}
            - { name: {{ .name }}, value: {{ .value | quote }} }
            {{- end }}
`,
  'charts/web/templates/facts.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: {{ .Release.Name }}-facts, namespace: {{ .Release.Namespace }} }
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  hasPolicy: {{ .Capabilities.APIVersions.Has "policy/v1" | quote }}
  lookup: {{ lookup "v1" "Namespace" "" "kube-system" | toJson | quote }}
`,
  'charts/web/templates/widget.yaml': `apiVersion: example.com/v1
kind: Widget
metadata: { name: {{ .Release.Name }} }
spec: { size: {{ .Values.replicaCount }} }
`,
  'charts/web/templates/role.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: {{ .Release.Name }}-reader }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]
`,
  'charts/web/templates/hook.yaml': `apiVersion: batch/v1
kind: Job
metadata: { name: migrate, annotations: { helm.sh/hook: pre-install } }
spec: { template: { spec: { restartPolicy: Never, containers: [{ name: m, image: busybox }] } } }
`,
  'charts/web/templates/tests/ping.yaml': `apiVersion: v1
kind: Pod
metadata: { name: ping, annotations: { helm.sh/hook: test } }
spec: { containers: [{ name: p, image: busybox }] }
`,
};

const FLEET = `apiVersion: strata.dev/v1
kind: Fleet
layers:
  - path: global
  - path: regions/{labels.region}
  - path: clusters/{name}
`;

const STACKED: Record<string, RepoFile> = {
  'strata.yaml': FLEET,
  ...WEB_CHART,
  'values/common.yaml': 'extraEnv: [{ name: TIER, value: web }]\nimage: { tag: "0.9" }\n',
  'global/web.yaml': `apiVersion: strata.dev/v1
kind: HelmChart
metadata: { name: web, namespace: shop }
chart: { path: charts/web }
valuesFiles: [values/common.yaml]
values:
  replicaCount: 2
  cluster: \${cluster.name}
`,
  'regions/cn-hangzhou/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: HelmChart, name: web }
merge:
  values:
    region: cn-hangzhou
    image: { tag: "1.1" }
`,
  'clusters/prod-hz/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: HelmChart, name: web }
merge: { values: { replicaCount: 5 } }
`,
};

/** What `helm template` prints for these values, by object id (namespaced objects in the release's namespace). */
function helmTemplate(repo: string, values: unknown): Map<string, KubeObject> {
  const file = join(mkdtempSync(join(tmpdir(), 'strata-values-')), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  const args = ['template', 'web', join(repo, 'charts/web'), '--namespace', 'shop', '-f', file];
  args.push('--no-hooks', '--skip-tests', '--include-crds', '--kube-version', CAPS.kubeVersion);
  for (const v of CAPS.apiVersions) args.push('--api-versions', v);
  const out = execFileSync(helm, args, { encoding: 'utf8' });
  const objects = new Map<string, KubeObject>();
  for (const doc of parseAllDocuments(out)) {
    const o = doc.toJS() as KubeObject | null;
    if (!o) continue;
    if (!o.metadata.namespace && !['ClusterRole', 'CustomResourceDefinition'].includes(o.kind))
      o.metadata.namespace = 'shop';
    objects.set(objectId(o), o);
  }
  return objects;
}

function ok(result: RenderResult) {
  if (!result.ok) throw new Error(result.errors.map(formatRenderError).join('\n'));
  return result;
}

async function render(files: Record<string, RepoFile>, cluster = hz, runner = newRunner()) {
  const repo = writeRepo(files);
  const result = await renderCluster(new FolderTree(repo), cluster, {
    tools: { runner },
    capabilities: CAPS,
  });
  return { repo, result, runner };
}

describe('HelmChart documents', () => {
  it('render as helm template does with the values stacked over the layers', async () => {
    const { repo, result } = await render(STACKED);
    const rendered = ok(result);
    const merged = {
      extraEnv: [{ name: 'TIER', value: 'web' }],
      image: { tag: '1.1' },
      replicaCount: 5,
      cluster: 'prod-hz',
      region: 'cn-hangzhou',
    };
    const expected = helmTemplate(repo, merged);
    expect(new Map(rendered.objects.map((o) => [o.id, o.object]))).toEqual(expected);
    const web = expected.get('apps/Deployment/shop/web') as any;
    expect(web.spec.replicas).toBe(5);
    expect(web.spec.template.spec.containers[0].image).toBe('registry.example.com/shop/web:1.1');
    // CRDs from crds/ are included; hooks and tests are not; lookup is empty as in helm template.
    expect([...expected.keys()].sort()).toEqual([
      '/ConfigMap/shop/web-facts',
      'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
      'apps/Deployment/shop/web',
      'example.com/Widget/shop/web',
      'rbac.authorization.k8s.io/ClusterRole//web-reader',
    ]);
    expect((expected.get('/ConfigMap/shop/web-facts') as any).data).toEqual({
      kubeVersion: 'v1.31.4',
      hasPolicy: 'true',
      lookup: '{}',
    });
  });

  it('names the file and line that set each value, and --explain shows them', async () => {
    const rendered = ok((await render(STACKED)).result);
    expect(rendered.charts).toEqual([
      {
        id: 'strata.dev/HelmChart/shop/web',
        chart: 'charts/web',
        releaseName: 'web',
        namespace: 'shop',
        values: [
          { path: 'cluster', file: 'global/web.yaml', doc: 0, line: 8 },
          { path: 'extraEnv', file: 'values/common.yaml', doc: 0, line: 1 },
          { path: 'image.tag', file: 'regions/cn-hangzhou/web.yaml', doc: 0, line: 7 },
          { path: 'region', file: 'regions/cn-hangzhou/web.yaml', doc: 0, line: 6 },
          { path: 'replicaCount', file: 'clusters/prod-hz/web.yaml', doc: 0, line: 4 },
        ],
      },
    ]);
    const web = rendered.objects.find((o) => o.id === 'apps/Deployment/shop/web')!;
    expect(web.provenance.layer).toBe('global');
    expect(web.provenance.definedAt.builtBy).toBe(
      'helm from global/web.yaml (doc 0), template web/templates/deployment.yaml',
    );
    const text = explainRender(hz, rendered);
    expect(text).toContain('chart strata.dev/HelmChart/shop/web: charts/web, release web in shop');
    expect(text).toMatch(/ {4}replicaCount +set by clusters\/prod-hz\/web\.yaml:4 \(doc 0\)/);
    expect(text).toContain(
      'built by helm from global/web.yaml (doc 0), template web/templates/deployment.yaml',
    );
  });

  it("lets later layers patch the chart's objects like any other", async () => {
    const files = {
      ...STACKED,
      'clusters/prod-hz/web-pin.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: Deployment, name: web, namespace: shop }
merge: { metadata: { annotations: { pinned: "yes" } } }
`,
    };
    const rendered = ok((await render(files)).result);
    const web = rendered.objects.find((o) => o.id === 'apps/Deployment/shop/web')!;
    expect(web.object.metadata.annotations).toEqual({ pinned: 'yes' });
    expect(web.provenance.patches).toEqual([
      expect.objectContaining({ file: 'clusters/prod-hz/web-pin.yaml', op: 'merge' }),
    ]);
  });

  it('renders each distinct input once for many clusters', async () => {
    const runner = newRunner();
    const renderer = createRenderer(new FolderTree(writeRepo(STACKED)), {
      tools: { runner },
      capabilities: CAPS,
    });
    const labels = { region: 'cn-shanghai' };
    const a = ok(await renderer.render({ name: 'a', labels }));
    ok(await renderer.render({ name: 'a', labels }));
    const b = ok(await renderer.render({ name: 'b', labels }));
    // Two inputs (the cluster name is a value), each rendered once.
    expect(runner.stats.processes).toBe(2);
    const env = (r: typeof a) =>
      (r.objects.find((o) => o.object.kind === 'Deployment')!.object as any).spec.template.spec.containers[0]
        .env;
    expect(env(a)[0]).toEqual({ name: 'CLUSTER', value: 'a' });
    expect(env(b)[0]).toEqual({ name: 'CLUSTER', value: 'b' });
  });

  it("reports a template's failure at the HelmChart document, and renders nothing", async () => {
    const files = { ...STACKED, 'charts/web/templates/fail.yaml': '{{ fail "region is required" }}\n' };
    const result = (await render(files)).result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatRenderError)).toEqual([
      expect.stringMatching(
        /^global\/web\.yaml:1:1 \(doc 0\): strata\.dev\/HelmChart\/shop\/web: helm: .*region is required/,
      ),
    ]);
  });

  it('checks the HelmChart fields, naming the field', async () => {
    const files = {
      ...STACKED,
      'global/web.yaml':
        'apiVersion: strata.dev/v1\nkind: HelmChart\nmetadata: { name: web, namespace: shop }\nchart: { path: charts/web, version: "1.0" }\nvalue: {}\n',
    };
    const result = (await render(files)).result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatRenderError)).toEqual([
      "global/web.yaml:5:8 (doc 0): strata.dev/HelmChart/shop/web: unknown HelmChart field 'value'",
      'global/web.yaml:4:8 (doc 0): strata.dev/HelmChart/shop/web: a chart from the repository takes only path (its version is in its Chart.yaml)',
    ]);
  });
});
