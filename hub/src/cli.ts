/** `strata hub serve|token|report-schema`: the thin status collector (docs/design.md §3). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { REPORT_BODY } from '../../contract/limits.js';
import { redactUrl } from '../../contract/redact.js';
import { reportJsonSchema } from '../../contract/report.js';
import { UsageError } from '../../contract/usage.js';
import { generateToken } from './api/auth.js';
import { startHub } from './hub.js';
import { openStore } from './store/open.js';

const USAGE = `Usage:
  strata hub serve [--db FILE] [--listen HOST:PORT] [options]
      --db FILE|URL           SQLite database file (default ./strata-hub.db), or postgres://USER@HOST/DB
                              (PostgreSQL: any number of hubs may serve the same database)
      --listen HOST:PORT      address to serve on (default 127.0.0.1:8080)
      --read-token-file FILE  require this token for the read API and dashboard (Bearer or Basic password)
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
  const readToken = values['read-token-file']
    ? readFileSync(values['read-token-file'], 'utf8').trim()
    : undefined;
  if (readToken === '') throw new UsageError(`--read-token-file ${values['read-token-file']} is empty`);
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
      ...(readToken ? { readToken } : {}),
      ...(adminToken ? { adminToken } : {}),
    },
    retention: {
      keepReports: positive('--keep-reports', values['keep-reports']),
      maxAgeMs: positive('--history-days', values['history-days']) * 24 * 3600_000,
    },
  });
  logger.info(
    { url: running.url, db: redactUrl(values.db), readAuth: readToken !== undefined },
    'Hub listening.',
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
