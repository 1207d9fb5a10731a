/**
 * The real parts a fault campaign runs and breaks, each a separate OS process or kernel object so a
 * fault is a real one: the bundled hub (`node dist/bundle/strata.js hub serve`), the test Git server
 * (test/git/serve.ts), the bundled agent run as the image runs it, inside its own network
 * namespace with one veth link to Git and the hub ("wan") and one to the lab apiserver ("lan"),
 * its state directory on a small loop-mounted ext4 filesystem, and its wall clock shifted at run
 * time by libfaketime (monotonic time untouched, as an NTP step would leave it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BUNDLE, IMAGE_ENV } from '../support/bundle.js';

const GIT_SERVE = path.resolve('test/git/serve.ts');
export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

const run = (cmd: string, ...args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A child process whose stdout is read as JSON lines. */
export interface LineProcess {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<void>;
  /** Resolves with the first line `match` accepts (also one that already arrived). */
  line(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    onlyNew?: boolean,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly alive: boolean;
  stderr(): string;
}

/** Keeps the last this many lines (a long run's debug log would otherwise grow without bound). */
const KEEP_LINES = 3000;

export function spawnLines(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onLine?: (l: Record<string, unknown>) => void,
): LineProcess {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let buffer = '';
  let err = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(entry);
      if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
      onLine?.(entry);
      for (const w of [...waiters]) {
        if (w.match(entry)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
    }
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  let done = false;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      done = true;
      resolve();
    });
  });
  return {
    proc,
    lines,
    exited,
    get alive() {
      return !done;
    },
    stderr: () => err,
    line(match, timeoutMs = 60_000, onlyNew = false) {
      const found = onlyNew ? undefined : lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `${path.basename(args[0] ?? cmd)}: no matching line in ${timeoutMs}ms: ${err.slice(-1500)}`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(waiter);
        void exited.then(() => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(new Error(`${cmd} exited before the line: ${err.slice(-1500)}`));
        });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (!done) proc.kill(signal);
      await exited;
    },
  };
}

export interface Link {
  host: string;
  peer: string;
  hostIp: string;
  peerIp: string;
}

/** A network namespace with two veth links to the host; `cut`/`heal` take a link down and up. */
export class Netns {
  readonly wan: Link;
  readonly lan: Link;

  constructor(
    readonly name: string,
    tag: string,
    octet: number,
  ) {
    this.wan = {
      host: `${tag}w0`,
      peer: `${tag}w1`,
      hostIp: `169.254.${octet}.1`,
      peerIp: `169.254.${octet}.2`,
    };
    this.lan = {
      host: `${tag}l0`,
      peer: `${tag}l1`,
      hostIp: `169.254.${octet + 1}.1`,
      peerIp: `169.254.${octet + 1}.2`,
    };
  }

  create(): void {
    this.remove();
    run('ip', 'netns', 'add', this.name);
    this.exec('ip', 'link', 'set', 'lo', 'up');
    for (const link of [this.wan, this.lan]) {
      run('ip', 'link', 'add', link.host, 'type', 'veth', 'peer', 'name', link.peer);
      run('ip', 'link', 'set', link.peer, 'netns', this.name);
      run('ip', 'addr', 'add', `${link.hostIp}/30`, 'dev', link.host);
      run('ip', 'link', 'set', link.host, 'up');
      this.exec('ip', 'addr', 'add', `${link.peerIp}/30`, 'dev', link.peer);
      this.exec('ip', 'link', 'set', link.peer, 'up');
    }
  }

  exec(...args: string[]): string {
    return run('ip', 'netns', 'exec', this.name, ...args);
  }

  cut(link: Link): void {
    run('ip', 'link', 'set', link.host, 'down');
  }

  heal(link: Link): void {
    run('ip', 'link', 'set', link.host, 'up');
  }

  remove(): void {
    try {
      run('ip', 'netns', 'del', this.name);
    } catch {
      // not there
    }
    for (const link of [this.wan.host, this.lan.host]) {
      try {
        run('ip', 'link', 'del', link);
      } catch {
        // gone with the namespace
      }
    }
  }
}

/** A TCP relay on the host: connections to `listenHost:listenPort` are piped to `target`. */
export function tcpRelay(
  listenHost: string,
  listenPort: number,
  targetHost: string,
  targetPort: number,
): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve(server));
  });
}

/** The same relay inside the namespace (its 127.0.0.1:`listenPort` leads to `target` over a link). */
export async function nsRelay(
  netns: Netns,
  listenPort: number,
  targetHost: string,
  targetPort: number,
): Promise<LineProcess> {
  const script = `const net=require('node:net');const s=net.createServer(c=>{const u=net.connect(${targetPort},'${targetHost}');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());});s.listen(${listenPort},'127.0.0.1',()=>console.log('{"ready":true}'));`;
  const relay = spawnLines('ip', ['netns', 'exec', netns.name, process.execPath, '-e', script]);
  await relay.line((l) => l.ready === true, 10_000);
  return relay;
}

/** A small ext4 filesystem on a loop device, mounted at `dir`: the agent's state directory. */
export class LoopMount {
  private readonly image: string;
  private readonly filler: string;

  constructor(
    readonly dir: string,
    private readonly sizeMiB: number,
  ) {
    this.image = `${dir}.img`;
    this.filler = path.join(dir, 'filler');
  }

  mount(): void {
    mkdirSync(this.dir, { recursive: true });
    run('truncate', '-s', `${this.sizeMiB}M`, this.image);
    run('mkfs.ext4', '-q', '-F', '-m', '0', this.image);
    run('mount', '-o', 'loop', this.image, this.dir);
  }

  /** Fill every free block (until ENOSPC). */
  fill(): void {
    try {
      run('dd', 'if=/dev/zero', `of=${this.filler}`, 'bs=64k', 'status=none');
    } catch {
      // dd stops with "No space left on device": that is the point
    }
  }

  free(): void {
    run('rm', '-f', this.filler);
  }

  unmount(): void {
    try {
      run('umount', this.dir);
    } catch {
      try {
        run('umount', '-l', this.dir);
      } catch {
        // not mounted
      }
    }
    if (existsSync(this.image)) run('rm', '-f', this.image);
  }
}

/** The real hub, bundled, on `host:port`, with its SQLite file at `db`; killed and restarted at will. */
export class HubProcess {
  private proc: LineProcess | undefined;
  token = '';

  constructor(
    readonly db: string,
    readonly host: string,
    public port: number,
    private readonly cluster: string,
  ) {}

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  async createToken(): Promise<string> {
    const out = execFileSync(
      process.execPath,
      [BUNDLE, 'hub', 'token', 'create', this.cluster, '--db', this.db],
      {
        env: { ...process.env, NODE_ENV: 'production' },
      },
    ).toString();
    const token = out.split(/\s+/).find((w) => w.length >= 32);
    if (!token) throw new Error(`hub token create printed no token: ${out}`);
    this.token = token;
    return token;
  }

  async start(): Promise<void> {
    if (this.proc?.alive) return;
    if (this.port === 0) this.port = await freePort(this.host);
    this.proc = spawnLines(
      process.execPath,
      [
        BUNDLE,
        'hub',
        'serve',
        '--db',
        this.db,
        '--listen',
        `${this.host}:${this.port}`,
        '--public-read',
        '--keep-reports',
        '100000',
      ],
      { NODE_ENV: 'production' },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not yet
      }
      if (!this.proc.alive) throw new Error(`hub exited at start: ${this.proc.stderr()}`);
      if (Date.now() > deadline) throw new Error(`hub not answering /healthz: ${this.proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc?.kill(signal);
  }

  async latest(): Promise<{ seq: number; commit: string | null; phase: string | null } | undefined> {
    const res = await fetch(`${this.url}/api/v1/clusters/${this.cluster}`, {
      signal: AbortSignal.timeout(3000),
    });
    if (res.status === 404) return undefined;
    const body = (await res.json()) as {
      report: {
        seq: number;
        sources: { commit: string | null; sync: { phase: string; commit: string } | null }[];
      };
    };
    const source = body.report.sources[0];
    return {
      seq: body.report.seq,
      commit: source?.sync?.commit ?? null,
      phase: source?.sync?.phase ?? null,
    };
  }
}

/** The test Git server as a process (test/git/serve.ts): SIGKILL it mid-fetch, start it on the same port. */
export class GitProcess {
  proc: LineProcess | undefined;

  constructor(
    readonly root: string,
    readonly host: string,
    public port = 0,
  ) {}

  url(repo: string): string {
    return `http://${this.host}:${this.port}/${repo}.git`;
  }

  async start(): Promise<void> {
    if (this.proc?.alive) return;
    this.proc = spawnLines(process.execPath, [
      '--import',
      'tsx',
      GIT_SERVE,
      this.root,
      this.host,
      String(this.port),
    ]);
    const line = await this.proc.line((l) => typeof l.listening === 'number', 30_000);
    this.port = line.listening as number;
  }

  /** Resolves when a request whose "METHOD URL" matches arrives (after `from` lines). */
  request(pattern: RegExp, timeoutMs: number): Promise<unknown> {
    const proc = this.proc;
    if (!proc) return Promise.reject(new Error('git server not running'));
    return proc.line((l) => pattern.test(String(l.request ?? '')), timeoutMs, true);
  }

  async kill(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The agent's wall clock offset, read by libfaketime about once a second ("+0", "+3600", "-7200"). */
export class ClockFile {
  constructor(readonly file: string) {
    this.set(0);
  }

  set(seconds: number): void {
    writeFileSync(this.file, `${seconds >= 0 ? '+' : ''}${seconds}\n`);
  }
}

/**
 * The bundled agent as the image runs it (`NODE_ENV=production`, `MALLOC_ARENA_MAX=1`, `node
 * dist/bundle/strata.js agent`), inside `netns`, with libfaketime preloaded so the test can step
 * its wall clock: a real clock jump cannot be produced on a shared machine without moving every
 * other process's clock too.
 */
export function spawnBundledAgent(
  netns: Netns,
  configFile: string,
  clock: ClockFile,
  onLine?: (l: Record<string, unknown>) => void,
): LineProcess {
  return spawnLines(
    'ip',
    ['netns', 'exec', netns.name, process.execPath, BUNDLE, 'agent', '--config', configFile],
    {
      ...IMAGE_ENV,
      LD_PRELOAD: FAKETIME_LIB,
      FAKETIME_TIMESTAMP_FILE: clock.file,
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      FAKETIME_CACHE_DURATION: '1',
    },
    onLine,
  );
}
