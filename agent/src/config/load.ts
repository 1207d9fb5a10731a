/**
 * Loading the agent configuration: YAML file, then environment (`STRATA_*`), then flags, each
 * overriding the one before; validated once with the schema. Relative paths in the file are
 * relative to the file; relative paths from the environment or flags to the working directory.
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { LabelListError, parseLabelList } from '../model/labels.js';
import { isSshUrl } from '../model/ssh-url.js';
import { AgentConfig, type AgentConfig as AgentConfigValue } from './schema.js';

/** Bad agent configuration, naming the file and the fields at fault; exit code 2 at the edge. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string | undefined,
    readonly issues: { field: string; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Where the configuration comes from: the command line, the environment and the working folder. */
export interface LoadOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The validated configuration, the file it was read from, and whether to reconcile once. */
export interface LoadedConfig {
  config: AgentConfigValue;
  /** The config file, when one was given. */
  file: string | undefined;
  /** `--once`: one reconcile per source, then exit. */
  once: boolean;
}

/** The help text of `strata agent`. */
export const AGENT_USAGE = `Usage: strata agent [--config FILE] [options]

Options (each overrides the config file; environment variables in brackets):
  --config FILE           YAML configuration file            [STRATA_CONFIG]
  --cluster-name NAME     cluster identity name             [STRATA_CLUSTER_NAME]
  --label KEY=VALUE       cluster label, repeatable          [STRATA_CLUSTER_LABELS=k=v,k2=v2]
  --source URL            replaces the file's sources with one Git URL or folder
  --ref REF               ref of --source (branch, tag or commit SHA)
  --path DIR              sub-path of --source
  --hub-url URL           hub base URL                       [STRATA_HUB_URL]
  --hub-token-file FILE   hub bearer token file              [STRATA_HUB_TOKEN_FILE]
  --hub-ca-file FILE      hub CA certificate (PEM)           [STRATA_HUB_CA_FILE]
  --kubeconfig FILE       kubeconfig path                    [STRATA_KUBECONFIG]
  --context NAME          kubeconfig context                 [STRATA_KUBE_CONTEXT]
  --in-cluster            use the pod's service account      [STRATA_IN_CLUSTER=true]
  --insecure-skip-tls-verify  accept a kubeconfig cluster that skips TLS verification (refused otherwise)
  --drift-policy P        correct | report                   [STRATA_DRIFT_POLICY]
  --state-dir DIR         cache, outbox and seq              [STRATA_STATE_DIR]
  --listen HOST:PORT      health, metrics and POST /sync     [STRATA_LISTEN]
  --sync-token-file FILE  bearer token for POST /sync        [STRATA_SYNC_TOKEN_FILE]
                          (without it, loopback clients only)
  --log-level LEVEL       fatal|error|warn|info|debug|trace  [STRATA_LOG_LEVEL]
  --once                  reconcile every source once, deliver reports, exit
See agent/src/config/README.md for every field of the file.`;

type Raw = Record<string, unknown>;

/**
 * Reads the config file, then the environment, then flags (each overriding the last), and
 * validates once.
 */
export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const flags = parseFlags(opts.argv);
  const fileArg = flags.config ?? env.STRATA_CONFIG;
  const file = fileArg ? path.resolve(cwd, fileArg) : undefined;
  const fromFile = file ? resolveFilePaths(await readConfigFile(file), path.dirname(file)) : {};
  const merged = applyFlags(applyEnv(fromFile, env, cwd), flags, cwd);
  return { config: validate(merged, file), file, once: flags.once === true };
}

/** Validate a raw object; the error lists every problem with its field path. */
export function validate(raw: unknown, file?: string): AgentConfigValue {
  const result = AgentConfig.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message }));
    const where = file ? `${file}: ` : '';
    const lines = issues.map((i) => `  ${i.field}: ${i.message}`).join('\n');
    throw new ConfigError(`${where}invalid agent configuration:\n${lines}`, file, issues);
  }
  return nameSources(result.data, file);
}

type Parsed = ReturnType<typeof AgentConfig.parse>;

/** A schema issue's path as users write it (`sources[0].url`), for located errors. */
export function fieldPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return '(root)';
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

async function readConfigFile(file: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`, file, [], {
      cause: err,
    });
  }
  try {
    const doc: unknown = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new ConfigError(`${file}: the config file must be a YAML mapping`, file);
    }
    return doc as Raw;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new ConfigError(
      `${file}${line ? `:${line}` : ''}: invalid YAML: ${(err as Error).message}`,
      file,
      [],
      { cause: err },
    );
  }
}

/** Make the file's relative paths absolute against the file's folder. */
function resolveFilePaths(raw: Raw, base: string): Raw {
  const abs = (v: unknown) => (typeof v === 'string' && v !== '' ? path.resolve(base, v) : v);
  const out: Raw = { ...raw };
  if (Array.isArray(raw.sources)) {
    out.sources = raw.sources.map((s: unknown) => {
      if (!isObject(s)) return s;
      const src: Raw = { ...s };
      if (typeof src.url === 'string' && !isRemote(src.url)) src.url = abs(src.url);
      if (isObject(src.auth)) {
        src.auth = Object.fromEntries(
          Object.entries(src.auth).map(([k, v]) => [k, k.endsWith('File') ? abs(v) : v]),
        );
      }
      if (isObject(src.decryption))
        src.decryption = { ...src.decryption, ageKeyFile: abs(src.decryption.ageKeyFile) };
      if (isObject(src.verify) && Array.isArray(src.verify.keys)) {
        src.verify = { ...src.verify, keys: src.verify.keys.map(abs) };
      }
      return src;
    });
  }
  if (isObject(raw.hub))
    out.hub = { ...raw.hub, tokenFile: abs(raw.hub.tokenFile), caFile: abs(raw.hub.caFile) };
  if (isObject(raw.kube)) out.kube = { ...raw.kube, kubeconfig: abs(raw.kube.kubeconfig) };
  if (typeof raw.stateDir === 'string') out.stateDir = abs(raw.stateDir);
  if (typeof raw.syncTokenFile === 'string') out.syncTokenFile = abs(raw.syncTokenFile);
  return dropUndefined(out);
}

function applyEnv(raw: Raw, env: NodeJS.ProcessEnv, cwd: string): Raw {
  const out = structuredClone(raw);
  const abs = (v: string) => path.resolve(cwd, v);
  if (env.STRATA_CLUSTER_NAME) section(out, 'cluster').name = env.STRATA_CLUSTER_NAME;
  if (env.STRATA_CLUSTER_LABELS) {
    const cluster = section(out, 'cluster');
    cluster.labels = {
      ...(cluster.labels as Raw),
      ...parseLabels(env.STRATA_CLUSTER_LABELS, 'STRATA_CLUSTER_LABELS'),
    };
  }
  if (env.STRATA_HUB_URL) section(out, 'hub').url = env.STRATA_HUB_URL;
  if (env.STRATA_HUB_TOKEN_FILE) section(out, 'hub').tokenFile = abs(env.STRATA_HUB_TOKEN_FILE);
  if (env.STRATA_HUB_CA_FILE) section(out, 'hub').caFile = abs(env.STRATA_HUB_CA_FILE);
  if (env.STRATA_KUBECONFIG) section(out, 'kube').kubeconfig = abs(env.STRATA_KUBECONFIG);
  if (env.STRATA_KUBE_CONTEXT) section(out, 'kube').context = env.STRATA_KUBE_CONTEXT;
  if (env.STRATA_IN_CLUSTER) section(out, 'kube').inCluster = env.STRATA_IN_CLUSTER === 'true';
  if (env.STRATA_DRIFT_POLICY) section(out, 'drift').policy = env.STRATA_DRIFT_POLICY;
  if (env.STRATA_STATE_DIR) out.stateDir = abs(env.STRATA_STATE_DIR);
  if (env.STRATA_LISTEN) out.listen = env.STRATA_LISTEN;
  if (env.STRATA_SYNC_TOKEN_FILE) out.syncTokenFile = abs(env.STRATA_SYNC_TOKEN_FILE);
  if (env.STRATA_LOG_LEVEL) section(out, 'log').level = env.STRATA_LOG_LEVEL;
  return out;
}

type Flags = ReturnType<typeof parseFlags>;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        'cluster-name': { type: 'string' },
        label: { type: 'string', multiple: true },
        source: { type: 'string' },
        ref: { type: 'string' },
        path: { type: 'string' },
        'hub-url': { type: 'string' },
        'hub-token-file': { type: 'string' },
        'hub-ca-file': { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'in-cluster': { type: 'boolean' },
        'insecure-skip-tls-verify': { type: 'boolean' },
        'drift-policy': { type: 'string' },
        'state-dir': { type: 'string' },
        listen: { type: 'string' },
        'sync-token-file': { type: 'string' },
        'log-level': { type: 'string' },
        once: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${AGENT_USAGE}`, undefined, [], { cause: err });
  }
}

function applyFlags(raw: Raw, f: Flags, cwd: string): Raw {
  const out = structuredClone(raw);
  const abs = (v: string) => path.resolve(cwd, v);
  if (f['cluster-name']) section(out, 'cluster').name = f['cluster-name'];
  if (f.label?.length) {
    const cluster = section(out, 'cluster');
    cluster.labels = { ...(cluster.labels as Raw), ...parseLabels(f.label.join(','), '--label') };
  }
  if (f.source) {
    out.sources = [
      dropUndefined({ url: isRemote(f.source) ? f.source : abs(f.source), ref: f.ref, path: f.path }),
    ];
  } else if (f.ref || f.path) {
    throw new ConfigError('--ref and --path need --source', undefined, [
      { field: '--source', message: 'missing' },
    ]);
  }
  if (f['hub-url']) section(out, 'hub').url = f['hub-url'];
  if (f['hub-token-file']) section(out, 'hub').tokenFile = abs(f['hub-token-file']);
  if (f['hub-ca-file']) section(out, 'hub').caFile = abs(f['hub-ca-file']);
  if (f.kubeconfig) section(out, 'kube').kubeconfig = abs(f.kubeconfig);
  if (f.context) section(out, 'kube').context = f.context;
  if (f['in-cluster']) section(out, 'kube').inCluster = true;
  if (f['insecure-skip-tls-verify']) section(out, 'kube').insecureSkipTlsVerify = true;
  if (f['drift-policy']) section(out, 'drift').policy = f['drift-policy'];
  if (f['state-dir']) out.stateDir = abs(f['state-dir']);
  if (f.listen) out.listen = f.listen;
  if (f['sync-token-file']) out.syncTokenFile = abs(f['sync-token-file']);
  if (f['log-level']) section(out, 'log').level = f['log-level'];
  return out;
}

function parseLabels(text: string, field: string): Record<string, string> {
  try {
    return parseLabelList(text);
  } catch (err) {
    if (!(err instanceof LabelListError)) throw err;
    throw new ConfigError(`${field}: ${err.message}`, undefined, [{ field, message: err.pair }], {
      cause: err,
    });
  }
}

/** Give every source a unique name (explicit, or derived from its URL). */
function nameSources(config: Parsed, file: string | undefined): AgentConfigValue {
  const seen = new Set<string>();
  const sources = config.sources.map((s, i) => {
    const name = s.name ?? deriveName(s.url, seen);
    if (seen.has(name)) {
      throw new ConfigError(`${file ? `${file}: ` : ''}sources[${i}].name: "${name}" is used twice`, file, [
        { field: `sources[${i}].name`, message: `"${name}" is used twice` },
      ]);
    }
    seen.add(name);
    return { ...s, name };
  });
  return { ...config, sources };
}

function deriveName(url: string, taken: Set<string>): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? 'source';
  const base =
    last
      .replace(/\.git$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'source';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  return name;
}

function isRemote(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || isSshUrl(url);
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function section(raw: Raw, key: string): Raw {
  if (!isObject(raw[key])) raw[key] = {};
  return raw[key] as Raw;
}

function dropUndefined(raw: Raw): Raw {
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}
