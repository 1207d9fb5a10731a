/**
 * Runs a chart's container outside Kubernetes, as its Deployment would run it: the image's layout
 * built from the sources, the pod's volumes laid out under a folder, the container's args and env.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { only, REPO } from './helm.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function httpStatus(url: string, token?: string): Promise<number | undefined> {
  try {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    return (await fetch(url, { headers, signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

/**
 * The image's layout (Dockerfile: /app/{package.json,node_modules,dist}) built from the sources as
 * `npm run build` builds them, with node_modules linked from the repository.
 */
export function buildApp(app: string): string {
  mkdirSync(app, { recursive: true });
  try {
    execFileSync(
      join(REPO, 'node_modules/.bin/tsc'),
      ['-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(app, 'dist')],
      { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(
      `the production build (tsc -p tsconfig.build.json) failed:\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
  cpSync(join(REPO, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  return join(app, 'dist/agent/src/cli.js');
}

export interface PodLayout {
  args: string[];
  env: Record<string, string>;
  listenPort: number;
}

/**
 * Lays the pod's volumes out under `root` (each ConfigMap volume's keys written at its mountPath,
 * a Secret volume's keys from `secrets` (the Secrets a cluster would already hold), emptyDir and
 * claims as empty folders) and returns the container's args (paths moved under `root`)
 * and env (downward-API fields resolved as the kubelet would).
 */
export function layOutPod(
  objects: KubeObject[],
  root: string,
  secrets: Record<string, Record<string, string>> = {},
): PodLayout {
  const pod = (only(objects, 'Deployment').spec as { template: { spec: Record<string, unknown> } }).template
    .spec;
  const volumes = pod.volumes as {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
  }[];
  const [container] = pod.containers as {
    args: string[];
    env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    volumeMounts: { name: string; mountPath: string }[];
    ports: { containerPort: number }[];
  }[];
  for (const mount of container!.volumeMounts) {
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    const volume = volumes.find((v) => v.name === mount.name)!;
    if (volume.configMap) {
      const data = (only(objects, 'ConfigMap', volume.configMap.name).data ?? {}) as Record<string, string>;
      for (const [key, value] of Object.entries(data)) writeFileSync(join(dir, key), value);
    }
    if (volume.secret) {
      const data = secrets[volume.secret.secretName];
      if (!data)
        throw new Error(`volume ${mount.name}: the test holds no Secret ${volume.secret.secretName}`);
      for (const [key, value] of Object.entries(data)) writeFileSync(join(dir, key), value);
    }
  }
  const mounted = (arg: string) => container!.volumeMounts.some((m) => arg.startsWith(`${m.mountPath}/`));
  const fields: Record<string, string> = {
    'metadata.namespace': only(objects, 'Deployment').metadata.namespace!,
  };
  const env: Record<string, string> = {};
  for (const e of container!.env) {
    const value = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''];
    if (value === undefined) throw new Error(`env ${e.name}: no value the test can resolve`);
    env[e.name] = value;
  }
  return {
    args: container!.args.map((a) => (mounted(a) ? join(root, a) : a)),
    env,
    listenPort: container!.ports[0]!.containerPort,
  };
}
