import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { ClusterLayout, Component, LabPorts } from './lab-layout.js';

/** What `<cluster>/state.json` records about a running cluster, so `down` and `status` find it. */
export interface ClusterState {
  name: string;
  binary: string;
  server: string;
  ports: LabPorts;
  pids: Record<Component, number>;
  startedAt: string;
}

export const ADMIN_USER = 'strata-admin';

/** Clears what a previous run left (data, keys, state) and writes fresh keys, token and KWOK stages. */
export function prepareClusterFiles(layout: ClusterLayout, binary: string): { token: string } {
  for (const path of [
    layout.state,
    layout.kubeconfig,
    layout.pki,
    layout.etcdData,
    layout.kwokStages,
    layout.logs,
  ]) {
    rmSync(path, { recursive: true, force: true });
  }
  mkdirSync(layout.pki, { recursive: true, mode: 0o700 });
  mkdirSync(layout.logs, { recursive: true });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(layout.serviceAccountKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });

  const token = randomBytes(24).toString('hex');
  writeFileSync(layout.tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });

  writeFileSync(layout.kwokStages, execFileSync(binary, ['kwok-stages'], { encoding: 'utf8' }));
  return { token };
}

/** An admin kubeconfig (bearer token in system:masters) trusting the apiserver's own serving CA. */
export function writeKubeconfig(layout: ClusterLayout, server: string, token: string): void {
  const ca = readFileSync(layout.servingCert);
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: layout.name, cluster: { server, 'certificate-authority-data': ca.toString('base64') } },
    ],
    users: [{ name: ADMIN_USER, user: { token } }],
    contexts: [{ name: layout.name, context: { cluster: layout.name, user: ADMIN_USER } }],
    'current-context': layout.name,
    preferences: {},
  };
  writeFileSync(layout.kubeconfig, stringify(kubeconfig), { mode: 0o600 });
}

export function readState(layout: ClusterLayout): ClusterState | undefined {
  if (!existsSync(layout.state)) return undefined;
  try {
    return JSON.parse(readFileSync(layout.state, 'utf8')) as ClusterState;
  } catch (error) {
    throw new Error(
      `lab: ${layout.state} is not valid JSON (${(error as Error).message}); remove it by hand`,
    );
  }
}

export function writeState(layout: ClusterLayout, state: ClusterState): void {
  writeFileSync(layout.state, `${JSON.stringify(state, null, 2)}\n`);
}

/** The apiserver's serving CA bundle and the admin token, read back from a cluster's files. */
export function readCredentials(layout: ClusterLayout): { ca: string; token: string } {
  const ca = readFileSync(layout.servingCert, 'utf8');
  const token = readFileSync(layout.tokenFile, 'utf8').split(',')[0] ?? '';
  return { ca, token };
}

/** The last `lines` lines of a component's log, for error messages. */
export function logTail(layout: ClusterLayout, component: Component, lines = 25): string {
  try {
    const text = readFileSync(`${layout.logs}/${component}.log`, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
