import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The regions of the tools fleet; each cluster is in one. */
export const TOOL_REGIONS = ['eu', 'us', 'ap', 'sa', 'af'];
export const CHART_TEMPLATES = 30;

/** One template of a real-sized chart: a Deployment, a Service and a ConfigMap per component, with helpers. */
function template(i: number): string {
  return `{{- $name := printf "%s-c${i}" (include "app.fullname" .) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels: {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: { matchLabels: { app: {{ $name }} } }
  template:
    metadata: { labels: { app: {{ $name }} } }
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - { name: REGION, value: {{ .Values.region | quote }} }
            {{- range $k, $v := .Values.env }}
            - { name: {{ $k }}, value: {{ $v | quote }} }
            {{- end }}
          resources: {{- toYaml .Values.resources | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels: {{- include "app.labels" . | nindent 4 }}
spec: { selector: { app: {{ $name }} }, ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: {{ $name }}-config }
data:
  index: "${i}"
  settings: {{ toJson .Values.settings | quote }}
`;
}

/**
 * A fleet whose global layer holds a HelmChart of a 30-template chart (90 objects) and a kustomize
 * overlay over a base; each region patches the chart's values. `pr` is a pull request that changes
 * one region's values and the overlay's base.
 */
export async function writeToolsFleet(dir: string, pr: boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const file = async (p: string, text: string) => {
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await writeFile(path.join(dir, p), text);
  };
  await file(
    'strata.yaml',
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n  - path: clusters/{name}\n',
  );
  await file('charts/app/Chart.yaml', 'apiVersion: v2\nname: app\nversion: 1.0.0\n');
  await file(
    'charts/app/values.yaml',
    'replicaCount: 2\nregion: none\nimage: { repository: registry.example.com/app, tag: "1.0" }\nenv: { LOG_LEVEL: info }\nresources: { requests: { cpu: 50m, memory: 64Mi } }\nsettings: { a: 1, b: two }\n',
  );
  await file(
    'charts/app/templates/_helpers.tpl',
    '{{- define "app.fullname" -}}{{ .Release.Name }}{{- end }}\n{{- define "app.labels" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\napp.kubernetes.io/instance: {{ .Release.Name }}\nhelm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n{{- end }}\n',
  );
  for (let i = 0; i < CHART_TEMPLATES; i++)
    await file(`charts/app/templates/c${String(i).padStart(2, '0')}.yaml`, template(i));
  await file(
    'global/app.yaml',
    'apiVersion: strata.dev/v1\nkind: HelmChart\nmetadata: { name: app, namespace: apps }\nchart: { path: charts/app }\nvalues: { replicaCount: 2 }\n',
  );
  await file(
    'bases/edge/kustomization.yaml',
    'resources: [deploy.yaml]\nconfigMapGenerator: [{ name: edge-config, literals: [MODE=edge] }]\n',
  );
  await file(
    'bases/edge/deploy.yaml',
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: edge-proxy }\nspec:\n  selector: { matchLabels: { app: edge-proxy } }\n  template:\n    metadata: { labels: { app: edge-proxy } }\n    spec: { containers: [{ name: proxy, image: "registry.example.com/proxy:${pr ? '2.1' : '2.0'}", envFrom: [{ configMapRef: { name: edge-config } }] }] }\n`,
  );
  await file(
    'global/edge/kustomization.yaml',
    'namespace: edge\nnamePrefix: fleet-\nresources: [../../bases/edge]\nlabels: [{ pairs: { team: platform } }]\nimages: [{ name: registry.example.com/proxy, newTag: "2.0-hardened" }]\n',
  );
  for (const region of TOOL_REGIONS) {
    const replicas = pr && region === 'eu' ? 4 : 3;
    await file(
      `regions/${region}/app.yaml`,
      `apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: HelmChart, name: app }\nmerge: { values: { region: ${region}, replicaCount: ${replicas} } }\n`,
    );
  }
}

export const toolClusters = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    name: `cluster-${String(i).padStart(3, '0')}`,
    labels: { region: TOOL_REGIONS[i % TOOL_REGIONS.length]!, env: 'prod' },
  }));
