// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { objectId } from '../../../agent/src/model/object.js';
import { formatRenderError, type RenderResult, renderCluster } from '../../../agent/src/render/index.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { toolPath } from '../../support/tools.js';
import { hz, type RepoFile, writeRepo } from './helpers.js';

const kustomize = toolPath('kustomize');
const runner = () =>
  createToolRunner({ binaries: { kustomize }, workDir: mkdtempSync(join(tmpdir(), 'strata-kz-')) });

const FLEET = `apiVersion: strata.dev/v1
kind: Fleet
layers:
  - path: global
  - path: regions/{labels.region}
`;

/** A base, a component and an overlay that use the features people convert by hand and get wrong. */
const OVERLAYS: Record<string, RepoFile> = {
  'strata.yaml': FLEET,
  'bases/web/kustomization.yaml': `resources: [deployment.yaml, service.yaml]
configMapGenerator:
  - name: web-config
    literals: [LOG_LEVEL=info, COLOR=blue]
`,
  'bases/web/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.example.com/shop/web:1.0
          envFrom: [{ configMapRef: { name: web-config } }]
          env: [{ name: SERVICE_HOST, value: placeholder }]
`,
  'bases/web/service.yaml': `apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }
`,
  'components/probes/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - target: { kind: Deployment }
    patch: |
      - op: add
        path: /spec/template/spec/containers/0/readinessProbe
        value: { httpGet: { path: /healthz, port: 8080 } }
`,
  'global/shop/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
namePrefix: eu-
labels:
  - pairs: { team: shop }
    includeSelectors: false
resources: [../../bases/web, namespace.yaml]
components: [../../components/probes]
images:
  - name: registry.example.com/shop/web
    newTag: "2.1"
configMapGenerator:
  - name: web-config
    behavior: merge
    literals: [COLOR=green]
patches:
  - target: { kind: ConfigMap, name: web-config }
    patch: |
      - op: add
        path: /data/REGION
        value: eu
replacements:
  - source: { kind: Service, name: web, fieldPath: metadata.name }
    targets:
      - select: { kind: Deployment, name: web }
        fieldPaths:
          - spec.template.spec.containers.[name=web].env.[name=SERVICE_HOST].value
`,
  'global/shop/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
  'global/plain.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: plain, namespace: shop }\ndata: { a: "1" }\n',
};

function kustomizeBuild(dir: string): Map<string, unknown> {
  const out = execFileSync(kustomize, ['build', dir], { encoding: 'utf8' });
  const objects = new Map<string, unknown>();
  for (const doc of parseAllDocuments(out)) {
    const value = doc.toJS();
    if (value) objects.set(objectId(value), value);
  }
  return objects;
}

async function renderWith(files: Record<string, RepoFile>, cluster = hz) {
  const dir = writeRepo(files);
  const result = await renderCluster(new FolderTree(dir), cluster, { tools: { runner: runner() } });
  return { dir, result };
}

function ok(result: RenderResult) {
  if (!result.ok) throw new Error(result.errors.map(formatRenderError).join('\n'));
  return result;
}

describe('kustomize inside a layer', () => {
  it('builds a folder with a kustomization exactly as kustomize build does, object for object', async () => {
    const { dir, result } = await renderWith(OVERLAYS, { name: 'x', labels: {} });
    const rendered = ok(result);
    const expected = kustomizeBuild(join(dir, 'global/shop'));
    const fromKustomize = rendered.objects.filter((o) => o.provenance.definedAt.builtBy);
    expect(new Map(fromKustomize.map((o) => [o.id, o.object]))).toEqual(expected);
    // The features are really in play: a hash-suffixed, merged and patched ConfigMap, references rewritten.
    const cm = fromKustomize.find((o) => o.object.kind === 'ConfigMap')!;
    expect(cm.object.metadata.name).toMatch(/^eu-web-config-[a-z0-9]{10}$/);
    expect(cm.object.data).toEqual({ LOG_LEVEL: 'info', COLOR: 'green', REGION: 'eu' });
    const web = rendered.objects.find((o) => o.id === 'apps/Deployment/shop/eu-web')!.object as any;
    const container = web.spec.template.spec.containers[0];
    expect(container.envFrom[0].configMapRef.name).toBe(cm.object.metadata.name);
    expect(container.image).toBe('registry.example.com/shop/web:2.1');
    expect(container.env[0].value).toBe('eu-web');
    expect(container.readinessProbe.httpGet.path).toBe('/healthz');
    expect(web.metadata.labels.team).toBe('shop');
    // Plain YAML beside the kustomization is still read as it always was.
    expect(rendered.objects.map((o) => o.id)).toContain('/ConfigMap/shop/plain');
  });

  it('says the objects were built by kustomize from the folder, and later layers patch them', async () => {
    const files = {
      ...OVERLAYS,
      'regions/cn-hangzhou/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: Deployment, name: eu-web, namespace: shop }
merge: { spec: { replicas: 5 } }
`,
    };
    const rendered = ok((await renderWith(files)).result);
    const web = rendered.objects.find((o) => o.id === 'apps/Deployment/shop/eu-web')!;
    expect(web.provenance.layer).toBe('global');
    expect(web.provenance.definedAt.builtBy).toBe('kustomize from global/shop');
    expect(web.provenance.patches).toEqual([
      expect.objectContaining({ file: 'regions/cn-hangzhou/web.yaml', op: 'merge' }),
    ]);
    expect((web.object as any).spec.replicas).toBe(5);
  });

  it('builds a layer that is itself a kustomization', async () => {
    const files = {
      'strata.yaml': FLEET,
      'global/kustomization.yaml': 'namespace: edge\nresources: [cm.yaml]\n',
      'global/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { x: "${cluster.name}" }\n',
    };
    const rendered = ok((await renderWith(files)).result);
    expect(rendered.objects.map((o) => o.id)).toEqual(['/ConfigMap/edge/c']);
    // Tool output is taken as built: `${` stays literal, exactly as kustomize printed it.
    expect((rendered.objects[0]!.object as any).data.x).toBe('${cluster.name}');
  });

  it('refuses a remote base with the kustomization file and line, and renders nothing', async () => {
    const files = {
      ...OVERLAYS,
      'global/shop/kustomization.yaml':
        'resources:\n  - namespace.yaml\n  - https://github.com/example/fleet//base?ref=v1\n',
    };
    const { result } = await renderWith(files);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatRenderError)).toEqual([
      "global/shop/kustomization.yaml:3:5 (doc 0): kustomize: 'https://github.com/example/fleet//base?ref=v1' is a remote base, which this layer does not allow; Strata builds kustomizations without network unless the layer lists a URL prefix of the base under remoteBases in strata.yaml",
    ]);
  });

  it("refuses a YAML alias bomb with Strata's own reader before kustomize sees it", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const files = {
      'strata.yaml': FLEET,
      'global/kustomization.yaml': 'resources: [bomb.yaml]\n',
      'global/bomb.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`,
    };
    const started = Date.now();
    const { result } = await renderWith(files);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatRenderError(result.errors[0]!)).toMatch(/^global\/bomb\.yaml:\d+:\d+ \(doc 0\): .*alias/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("reports kustomize's own error located at the folder, without the working copy's path", async () => {
    const files = { ...OVERLAYS, 'global/shop/kustomization.yaml': 'resources: [missing.yaml]\n' };
    const { result } = await renderWith(files);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = formatRenderError(result.errors[0]!);
    expect(text).toMatch(/^global\/shop: kustomize: .*missing\.yaml/);
    expect(text).not.toContain('strata-tool-');
  });

  it('fails, saying why, where no kustomize runner was given', async () => {
    const result = await renderCluster(new FolderTree(writeRepo(OVERLAYS)), hz);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatRenderError)).toEqual([
      'global/shop: kustomize: this command renders plain YAML only; kustomizations need the kustomize tool',
    ]);
  });
});
