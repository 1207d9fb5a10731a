/** `strata hub serve|token|report-schema`: the thin status collector (docs/design.md §3). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { REPORT_BODY } from '../../contract/limits.js';
import { redactUrl } from '../../contract/redact.js';
import { reportJsonSchema } from '../../contract/report.js';
import { UsageError } from '../../contract/usage.js';
import { generateToken } from './api/auth.js';
import { readTokenOf } from './api/read-token.js';
import { startHub } from './hub.js';
import { openStore } from './store/open.js';
import { isPostgresUrl } from './store/postgres.js';

const USAGE = `Usage:
  strata hub serve [--db FILE] [--listen HOST:PORT] [options]
      --db FILE|URL           SQLite database file (default ./strata-hub.db), or postgres://USER@HOST/DB
                              (PostgreSQL: any number of hubs may serve the same database)
      --listen HOST:PORT      address to serve on (default 127.0.0.1:8080)
      --read-token-file FILE  the token the read API, dashboard (Bearer or Basic password) and private
                              metrics need; generated into FILE (mode 0600) when FILE does not exist.
                              Default for SQLite: DB.read-token beside the database, generated once
      --public-read           serve the read API and dashboard to anyone who can connect (no read token)
      --private-metrics       /metrics needs the read token too (default: open to scrapers)
      --tls-cert FILE         serve HTTPS with this PEM certificate (chain) ...
      --tls-key FILE          ... and its PEM private key
      --admin-token-file FILE  the token of rollout control (strata rollout pause|resume|abort|approve); off without it
      --body-limit BYTES      largest accepted report (default 4194304)
      --keep-reports N        reports kept in each cluster's history (default 200)
      --history-days D        drop history older than D days (default 30)
      --stale-after SECONDS   show a cluster as stale after this silence (default 600)
      --synchronous full|normal  SQLite durability (default full: survives power loss)
  strata hub token create CLUSTER [--db FILE|URL]   print a new token for CLUSTER (shown once)
  strata hub token revoke ID [--db FILE|URL]        revoke a token by its id (every hub refuses it from then on)
  strata hub token list [--db FILE|URL]             list tokens (ids, clusters, state; never secrets)
  strata hub report-schema                      print the report JSON Schema`;

/**
 * `strata hub serve|token|report-schema`: the hub's own entry point, as the exit code of the verb.
 */
export default async function hub(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case 'serve':
        return await serve(rest);
      case 'token':
        return await token(rest);
      case 'report-schema':
        process.stdout.write(`${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return verb ? 0 : 2;
      default:
        throw new UsageError(`unknown subcommand "${verb}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`strata hub: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', default: './strata-hub.db' },
      listen: { type: 'string', default: '127.0.0.1:8080' },
      'read-token-file': { type: 'string' },
      'public-read': { type: 'boolean', default: false },
      'private-metrics': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'admin-token-file': { type: 'string' },
      'body-limit': { type: 'string', default: String(REPORT_BODY.defaultBytes) },
      'keep-reports': { type: 'string', default: '200' },
      'history-days': { type: 'string', default: '30' },
      'stale-after': { type: 'string', default: '600' },
      synchronous: { type: 'string', default: 'full' },
    },
    strict: true,
  });
  const { host, port } = parseListen(values.listen);
  if (values.synchronous !== 'full' && values.synchronous !== 'normal') {
    throw new UsageError(`--synchronous must be "full" or "normal", got "${values.synchronous}"`);
  }
  const read = readAccess(values);
  const tls = tlsFiles(values['tls-cert'], values['tls-key']);
  const adminToken = values['admin-token-file']
    ? readFileSync(values['admin-token-file'], 'utf8').trim()
    : undefined;
  if (adminToken === '') throw new UsageError(`--admin-token-file ${values['admin-token-file']} is empty`);
  const logger = pino({ name: 'strata-hub' });
  const running = await startHub({
    db: values.db,
    host,
    port,
    logger,
    synchronous: values.synchronous,
    settings: {
      bodyLimit: positive('--body-limit', values['body-limit']),
      staleAfterMs: positive('--stale-after', values['stale-after']) * 1000,
      ...(read.token === undefined ? { publicRead: true } : { readToken: read.token }),
      ...(values['private-metrics'] ? { privateMetrics: true } : {}),
      ...(adminToken ? { adminToken } : {}),
    },
    ...(tls ? { tls } : {}),
    retention: {
      keepReports: positive('--keep-reports', values['keep-reports']),
      maxAgeMs: positive('--history-days', values['history-days']) * 24 * 3600_000,
    },
  });
  logger.info(
    {
      url: running.url,
      db: redactUrl(values.db),
      readAuth: read.token !== undefined,
      ...(read.file ? { readTokenFile: read.file, readTokenGenerated: read.generated } : {}),
    },
    read.token === undefined ? 'Hub listening; reads are public (--public-read).' : 'Hub listening.',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'Stopping.');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running.stop();
  return 0;
}

/**
 * Who may read: `--public-read` (anyone), or a read token from `--read-token-file` (generated into it
 * when missing), by default SQLite's `DB.read-token`. PostgreSQL replicas must share one token, so
 * there the file (or `--public-read`) is required.
 */
function readAccess(values: {
  db: string;
  'read-token-file'?: string;
  'public-read': boolean;
  'private-metrics': boolean;
}): { token?: string; file?: string; generated?: boolean } {
  const file = values['read-token-file'];
  if (values['public-read']) {
    if (file) throw new UsageError('--public-read and --read-token-file exclude each other');
    if (values['private-metrics'])
      throw new UsageError('--private-metrics needs a read token, not --public-read');
    return {};
  }
  if (!file && isPostgresUrl(values.db)) {
    throw new UsageError(
      'a hub on PostgreSQL needs --read-token-file FILE (the same token for every replica) or --public-read',
    );
  }
  const chosen = file ?? `${values.db}.read-token`;
  return { file: chosen, ...readTokenOf(chosen) };
}

function tlsFiles(
  cert: string | undefined,
  key: string | undefined,
): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

async function token(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { db: { type: 'string', default: './strata-hub.db' } },
    allowPositionals: true,
    strict: true,
  });
  const [action, arg] = positionals;
  const store = await openStore(values.db, {
    retention: { keepReports: 200, maxAgeMs: Number.MAX_SAFE_INTEGER },
  });
  try {
    if (action === 'create') {
      const cluster = requireArg(arg, 'token create needs the CLUSTER name');
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(cluster) || cluster.length > 253) {
        throw new UsageError(
          `"${cluster}" is not a cluster name (DNS-1123: lowercase letters, digits, "-", ".")`,
        );
      }
      const created = generateToken(cluster, new Date());
      await store.createToken(created.record);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(
        `Token ${created.record.id} for cluster ${cluster}: store it now, it is not shown again.\n`,
      );
      return 0;
    }
    if (action === 'revoke') {
      const id = requireArg(arg, 'token revoke needs the token ID (see "strata hub token list")');
      if (!(await store.revokeToken(id, new Date().toISOString()))) {
        process.stderr.write(`strata hub: no token with id "${id}"\n`);
        return 1;
      }
      process.stdout.write(`revoked ${id}\n`);
      return 0;
    }
    if (action === 'list') {
      for (const t of await store.listTokens()) {
        process.stdout.write(
          `${t.id}\t${t.cluster}\t${t.createdAt}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}\n`,
        );
      }
      return 0;
    }
    throw new UsageError(`unknown token action "${action ?? ''}": use create, revoke or list`);
  } finally {
    await store.close();
  }
}

function requireArg(value: string | undefined, message: string): string {
  if (!value) throw new UsageError(message);
  return value;
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  return n;
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (all interfaces). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen must be HOST:PORT, got "${text}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
