import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ClusterIdentity } from '../../../agent/src/model/object.js';
import type { RenderResult, RenderSuccess } from '../../../agent/src/render/index.js';
import { formatRenderError, renderCluster } from '../../../agent/src/render/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';

/** A file's text or bytes, or `{ symlink: target }`. */
export type RepoFile = string | Uint8Array | { symlink: string };

/** Writes a fleet repository into a fresh temporary folder and returns its path. */
export function writeRepo(files: Record<string, RepoFile>): string {
  const root = mkdtempSync(join(tmpdir(), 'strata-render-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) writeFileSync(full, content);
    else symlinkSync(content.symlink, full);
  }
  return root;
}

export const hz: ClusterIdentity = { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } };

export async function renderFiles(
  files: Record<string, RepoFile>,
  cluster: ClusterIdentity = hz,
  maxFileBytes?: number,
): Promise<RenderResult> {
  return renderCluster(new FolderTree(writeRepo(files)), cluster, { maxFileBytes });
}

/** Renders and expects success; a failure shows its errors in the test output. */
export async function renderOk(
  files: Record<string, RepoFile>,
  cluster: ClusterIdentity = hz,
): Promise<RenderSuccess> {
  const result = await renderFiles(files, cluster);
  if (!result.ok) throw new Error(`render failed:\n${result.errors.map(formatRenderError).join('\n')}`);
  return result;
}

/** The rendered object with this id, or a failing test. */
export function objectById(result: RenderSuccess, id: string) {
  const found = result.objects.find((o) => o.id === id);
  if (!found) throw new Error(`no object ${id}; rendered: ${result.objects.map((o) => o.id).join(', ')}`);
  return found;
}

export const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: { app: web }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: A
              value: "1"
            - name: B
              value: "2"
        - name: sidecar
          image: registry.example.com/proxy:2.0
`;
