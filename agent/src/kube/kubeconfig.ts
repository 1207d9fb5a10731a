import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { ClusterAccess, TlsMaterial } from './access.js';

const run = promisify(execFile);
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
}

interface KubeconfigUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  'auth-provider'?: unknown;
}

/** A parsed kubeconfig file (the fields Strata uses). */
export interface Kubeconfig {
  file: string;
  currentContext: string;
  contexts: { name: string; context?: { cluster: string; user: string; namespace?: string } }[];
  clusters: { name: string; cluster?: KubeconfigCluster }[];
  users: { name: string; user?: KubeconfigUser }[];
}

/** A kubeconfig that cannot be read or used, naming the file. */
export class KubeconfigError extends Error {
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`kubeconfig ${file}: ${message}`, options);
    this.name = 'KubeconfigError';
  }
}

/** `--kubeconfig`, else the first existing KUBECONFIG entry, else ~/.kube/config; undefined when none exists. */
export function findKubeconfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).find((p) => p && existsSync(p));
  if (fromEnv) return fromEnv;
  const home = path.join(os.homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/** Reads and parses one kubeconfig file. */
export function readKubeconfig(file: string): Kubeconfig {
  let doc: Record<string, unknown>;
  try {
    doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new KubeconfigError(file, (err as Error).message, { cause: err });
  }
  const list = (key: string) => {
    const value = doc[key] ?? [];
    if (!Array.isArray(value)) throw new KubeconfigError(file, `'${key}' must be a list`);
    return value;
  };
  return {
    file,
    currentContext: typeof doc['current-context'] === 'string' ? doc['current-context'] : '',
    contexts: list('contexts'),
    clusters: list('clusters'),
    users: list('users'),
  };
}

function readRelative(kc: Kubeconfig, file: string): Buffer {
  const full = path.isAbsolute(file) ? file : path.join(path.dirname(kc.file), file);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeconfigError(kc.file, `cannot read ${full}: ${(err as Error).message}`, { cause: err });
  }
}

function material(kc: Kubeconfig, inline: string | undefined, file: string | undefined): Buffer | undefined {
  if (inline) return Buffer.from(inline, 'base64');
  return file ? readRelative(kc, file) : undefined;
}

/** Exec credential plugins (client.authentication.k8s.io), cached until shortly before they expire. */
/**
 * What a kubeconfig may ask of the agent beyond the safe defaults: skipping TLS verification only
 * when the operator says so, and environment variables an exec plugin may see besides its own.
 */
export interface AccessPolicy {
  allowInsecureSkipTlsVerify?: boolean;
  /** Names of the agent's environment variables passed to exec plugins (besides PATH and HOME). */
  execEnv?: string[];
}

/** The environment an exec plugin starts with: PATH, HOME and the allowlisted names only. */
function execEnvironment(allow: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', ...allow]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function execCredentials(kc: Kubeconfig, exec: ExecConfig, allow: string[]): () => Promise<string> {
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
    // Not the agent's whole environment: its tokens and proxies are none of a plugin's business.
    const env: NodeJS.ProcessEnv = {
      ...execEnvironment(allow),
      KUBERNETES_EXEC_INFO: JSON.stringify({
        apiVersion,
        kind: 'ExecCredential',
        spec: { interactive: false },
      }),
    };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    const command =
      exec.command.includes('/') && !path.isAbsolute(exec.command)
        ? path.join(path.dirname(kc.file), exec.command)
        : exec.command;
    const { stdout } = await run(command, exec.args ?? [], { env, timeout: 60_000 });
    const status = (JSON.parse(stdout) as { status?: { token?: string; expirationTimestamp?: string } })
      .status;
    if (!status?.token) throw new KubeconfigError(kc.file, `exec plugin ${exec.command} returned no token`);
    const expires = status.expirationTimestamp
      ? Date.parse(status.expirationTimestamp) - 10_000
      : Number.POSITIVE_INFINITY;
    cached = { token: status.token, until: expires };
    return status.token;
  };
}

/** Access to the cluster of one context (the current one by default). */
export function accessFor(kc: Kubeconfig, contextName?: string, policy: AccessPolicy = {}): ClusterAccess {
  const name = contextName ?? kc.currentContext;
  if (!name) throw new KubeconfigError(kc.file, 'no current-context; pass --context');
  const ctx = kc.contexts.find((c) => c.name === name)?.context;
  if (!ctx) throw new KubeconfigError(kc.file, `no context '${name}'`);
  const cluster = kc.clusters.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server)
    throw new KubeconfigError(kc.file, `context '${name}': cluster '${ctx.cluster}' has no server`);
  const user: KubeconfigUser = kc.users.find((u) => u.name === ctx.user)?.user ?? {};
  if (user['auth-provider'])
    throw new KubeconfigError(
      kc.file,
      `user '${ctx.user}': auth-provider is not supported; use an exec plugin`,
    );
  if (cluster['insecure-skip-tls-verify'] && !policy.allowInsecureSkipTlsVerify) {
    throw new KubeconfigError(
      kc.file,
      `cluster '${ctx.cluster}' sets insecure-skip-tls-verify: refused unless the agent runs with --insecure-skip-tls-verify (kube.insecureSkipTlsVerify: true)`,
    );
  }
  const tls: TlsMaterial = {
    rejectUnauthorized: !cluster['insecure-skip-tls-verify'],
  };
  const ca = material(kc, cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = material(kc, user['client-certificate-data'], user['client-certificate']);
  const key = material(kc, user['client-key-data'], user['client-key']);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
  const exec = user.exec ? execCredentials(kc, user.exec, policy.execEnv ?? []) : undefined;
  const bearer = async (): Promise<string | undefined> => {
    if (user.token) return user.token;
    if (user.tokenFile) return readRelative(kc, user.tokenFile).toString('utf8').trim();
    return exec ? exec() : undefined;
  };
  const auth = user.username !== undefined ? `${user.username}:${user.password ?? ''}` : undefined;
  return {
    server: cluster.server,
    context: name,
    async requestOptions() {
      const token = await bearer();
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return { tls, headers, ...(auth ? { auth } : {}) };
    },
  };
}

/** Inside a Pod: the service account token (re-read, as kubelet rotates it) and the cluster CA. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not running in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ca = readFileSync(path.join(SA_DIR, 'ca.crt'));
  return {
    server,
    context: 'in-cluster',
    async requestOptions() {
      const token = readFileSync(path.join(SA_DIR, 'token'), 'utf8').trim();
      return { tls: { ca, rejectUnauthorized: true }, headers: { Authorization: `Bearer ${token}` } };
    },
  };
}

/** The usual lookup: an explicit or found kubeconfig (and context), else in-cluster access. */
export function loadAccess(
  opts: { kubeconfig?: string; context?: string; inCluster?: boolean; policy?: AccessPolicy } = {},
): ClusterAccess {
  if (opts.inCluster) return inClusterAccess();
  const file = findKubeconfig(opts.kubeconfig);
  if (file) return accessFor(readKubeconfig(file), opts.context, opts.policy);
  if (process.env.KUBERNETES_SERVICE_HOST) return inClusterAccess();
  throw new Error(
    'no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster',
  );
}

/** Context names of a kubeconfig (for --all-contexts). */
export function contextNames(kubeconfig?: string): string[] {
  const file = findKubeconfig(kubeconfig);
  if (!file) throw new Error('no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config)');
  return readKubeconfig(file).contexts.map((c) => c.name);
}
