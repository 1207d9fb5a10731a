/**
 * A private PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries, `initdb` into a
 * temp directory, `pg_ctl start` on a free loopback port with its own socket directory, trust auth for
 * the user `strata`, fsync off (test data is thrown away). PostgreSQL refuses to run as root, so as
 * root the server runs as the package's `postgres` user (or a system user `strata-pg` created once).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** `postgres://strata@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  dir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast`, then removes the data directory. */
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `no PostgreSQL server under ${root}: install Debian's "postgresql" package (apt-get install postgresql)`,
    );
  }
  return join(root, versions[0]!, 'bin');
}

/** The user the server runs as: ourselves, or when root, an unprivileged one. */
function serverUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'strata-pg']) {
    try {
      execFileSync('id', ['-u', user], { stdio: 'ignore' });
      return user;
    } catch {}
  }
  execFileSync('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', 'strata-pg']);
  return 'strata-pg';
}

function uidOf(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startPostgres(
  options: { dir?: string; settings?: Record<string, string> } = {},
): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'strata-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets, { recursive: true });
  const user = serverUser();
  if (user) {
    const { uid, gid } = uidOf(user);
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const run = (file: string, args: string[]) => {
    const [cmd, argv] = user
      ? ['runuser', ['-u', user, '--', join(bin, file), ...args]]
      : [join(bin, file), args];
    return execFileSync(cmd, argv, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (!existsSync(join(data, 'PG_VERSION'))) {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'strata', '-E', 'UTF8', '--locale=C', '--no-sync']);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: sockets,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    ...options.settings,
  };
  const flags = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const log = join(dir, 'postgres.log');
  try {
    run('pg_ctl', ['-D', data, '-o', flags, '-l', log, '-w', '-t', '60', 'start']);
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    throw new Error(`PostgreSQL did not start in ${dir}: ${(err as Error).message}\n${tail}`);
  }
  const url = `postgres://strata@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        throw new Error(`database name "${name}" must be [a-z_][a-z0-9_]*`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://strata@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        if (!options.dir) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
