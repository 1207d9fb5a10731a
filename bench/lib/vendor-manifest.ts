/**
 * A vendor-style install manifest, like the `install.yaml` projects such as Argo CD publish: a few
 * large CustomResourceDefinitions with long OpenAPI schemas, then RBAC, ConfigMaps, Services and
 * Deployments, none of the namespaced objects carrying a namespace (it is meant for
 * `kubectl apply -n NAMESPACE`). Deterministic: the same size and text on every run.
 */

const words = 'the of a field that is to be set when object this controller value used in by resource'.split(
  ' ',
);

function description(seed: number, length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${words[(seed * 7 + i * 13) % words.length]} `;
  return text.trim();
}

/** An OpenAPI schema of `breadth` properties, nested `depth` levels, every one described. */
function schema(seed: number, depth: number, breadth: number, lines: string[], indent: string): void {
  lines.push(`${indent}type: object`);
  lines.push(`${indent}properties:`);
  for (let i = 0; i < breadth; i++) {
    const name = `field${seed % 97}x${i}`;
    lines.push(`${indent}  ${name}:`);
    lines.push(`${indent}    description: ${description(seed + i, 160)}`);
    if (depth > 0 && i % 3 === 0) schema(seed * 31 + i, depth - 1, breadth, lines, `${indent}    `);
    else if (i % 4 === 1) {
      lines.push(`${indent}    type: array`);
      lines.push(`${indent}    items:`);
      lines.push(`${indent}      type: string`);
    } else if (i % 4 === 2) {
      lines.push(`${indent}    type: integer`);
      lines.push(`${indent}    format: int64`);
    } else lines.push(`${indent}    type: string`);
  }
}

function crd(index: number, lines: string[]): void {
  const plural = `widgets${index}`;
  lines.push(
    '---',
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata:',
    `  name: ${plural}.vendor.example.com`,
    '  labels:',
    '    app.kubernetes.io/part-of: vendor',
    'spec:',
    '  group: vendor.example.com',
    '  names:',
    `    kind: Widget${index}`,
    `    listKind: Widget${index}List`,
    `    plural: ${plural}`,
    `    singular: widget${index}`,
    '  scope: Namespaced',
    '  versions:',
    '  - name: v1alpha1',
    '    served: true',
    '    storage: true',
    '    schema:',
    '      openAPIV3Schema:',
  );
  schema(index + 1, 4, 9, lines, '        ');
}

function workload(index: number, lines: string[]): void {
  const name = `vendor-component-${index}`;
  lines.push(
    '---',
    'apiVersion: v1',
    'kind: ServiceAccount',
    'metadata:',
    `  name: ${name}`,
    '---',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata:',
    `  name: vendor-${name}`,
    'rules:',
    '- apiGroups: ["vendor.example.com"]',
    '  resources: ["*"]',
    '  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]',
    '- apiGroups: [""]',
    '  resources: ["configmaps", "secrets", "events"]',
    '  verbs: ["get", "list", "watch"]',
    '---',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRoleBinding',
    'metadata:',
    `  name: vendor-${name}`,
    'roleRef:',
    '  apiGroup: rbac.authorization.k8s.io',
    '  kind: ClusterRole',
    `  name: vendor-${name}`,
    'subjects:',
    '- kind: ServiceAccount',
    `  name: ${name}`,
    '  namespace: vendor',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}-config`,
    'data:',
    `  config.yaml: |`,
    `    logLevel: info`,
    `    component: ${name}`,
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  selector:',
    `    app.kubernetes.io/name: ${name}`,
    '  ports:',
    '  - name: http',
    '    port: 8080',
    '    targetPort: 8080',
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  selector:',
    '    matchLabels:',
    `      app.kubernetes.io/name: ${name}`,
    '  template:',
    '    metadata:',
    '      labels:',
    `        app.kubernetes.io/name: ${name}`,
    '    spec:',
    `      serviceAccountName: ${name}`,
    '      containers:',
    `      - name: ${name}`,
    `        image: registry.example.com/vendor/${name}:v1.2.3`,
    '        args: ["--metrics-addr=:8080", "--leader-elect"]',
    '        ports:',
    '        - containerPort: 8080',
    '          name: http',
    '        resources:',
    '          requests: {cpu: 10m, memory: 64Mi}',
    '        volumeMounts:',
    '        - name: config',
    '          mountPath: /etc/vendor',
    '      volumes:',
    '      - name: config',
    '        configMap:',
    `          name: ${name}-config`,
    '          defaultMode: 0644',
  );
}

/** The manifest's text: `crds` CRDs and `components` workloads (6 objects each). */
export function vendorManifest(crds = 6, components = 10): string {
  const lines: string[] = ['# A vendor install manifest: apply with kubectl apply -n vendor -f install.yaml'];
  for (let i = 0; i < crds; i++) crd(i, lines);
  for (let i = 0; i < components; i++) workload(i, lines);
  return `${lines.join('\n')}\n`;
}
