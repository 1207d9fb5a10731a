/**
 * Helpers for the agent's end-to-end tests: the shipped `strata agent` as a child process (the
 * bundle `node dist/bundle/strata.js agent` with the image's environment, as the image's
 * entrypoint runs it; global setup builds the bundle when it is older than its sources), a real
 * HTTP report receiver on loopback (validating with the shared report schema, recording every
 * seq in arrival order), and small polling helpers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseReport, type Report } from '../../contract/report.js';
import { BUNDLE, IMAGE_ENV } from './support/bundle.js';

export interface AgentProcess {
  proc: ChildProcess;
  /** Port of /healthz, /metrics, POST /sync (from the "Listening." log line). */
  port: Promise<number>;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Headers a POST /sync needs (the bearer token when the agent is reached off loopback). */
  syncHeaders: Record<string, string>;
  /** POST /sync and wait for the reconcile to finish. */
  sync(): Promise<{ sources: { commit: string | null; reachable: boolean; phase: string | null }[] }>;
  metrics(): Promise<string>;
}

/**
 * Start the bundled `strata agent --config FILE` (optionally prefixed, e.g. by `ip netns exec NS`). An agent
 * reached on another `host` than loopback answers POST /sync only with a bearer token: one is
 * written beside the config file and handed to the agent as STRATA_SYNC_TOKEN_FILE.
 */
export function spawnAgent(
  configFile: string,
  opts: { prefix?: string[]; env?: NodeJS.ProcessEnv; host?: string } = {},
): AgentProcess {
  const syncHeaders: Record<string, string> = {};
  const env: NodeJS.ProcessEnv = { ...process.env, ...IMAGE_ENV, ...opts.env };
  if (opts.host && !opts.host.startsWith('127.')) {
    const token = randomBytes(24).toString('base64url');
    const tokenFile = path.join(path.dirname(configFile), 'sync-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    env.STRATA_SYNC_TOKEN_FILE = tokenFile;
    syncHeaders.authorization = `Bearer ${token}`;
  }
  const argv = [...(opts.prefix ?? []), process.execPath, BUNDLE, 'agent', '--config', configFile];
  const [cmd, ...args] = argv as [string, ...string[]];
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: Record<string, unknown>[] = [];
  let resolvePort: (p: number) => void = () => {};
  let rejectPort: (e: Error) => void = () => {};
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  port.catch(() => {});
  let buffer = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'Listening.' && typeof entry.port === 'number') resolvePort(entry.port);
      } catch {
        // not a log line
      }
      nl = buffer.indexOf('\n');
    }
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      rejectPort(new Error(`agent exited (${code ?? signal}) before listening: ${stderr.slice(-2000)}`));
      resolve(code);
    });
  });
  const base = async () => `http://${opts.host ?? '127.0.0.1'}:${await port}`;
  return {
    proc,
    port,
    logs,
    exited,
    syncHeaders,
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    async sync() {
      const res = await fetch(`${await base()}/sync`, {
        method: 'POST',
        headers: syncHeaders,
        signal: AbortSignal.timeout(120_000),
      });
      if (res.status !== 200) throw new Error(`POST /sync answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Awaited<ReturnType<AgentProcess['sync']>>;
    },
    async metrics() {
      return (await fetch(`${await base()}/metrics`)).text();
    },
  };
}

export interface Receiver {
  readonly port: number;
  readonly url: string;
  /** Valid reports in arrival order (duplicates included: a report may be re-sent after a crash). */
  readonly reports: Report[];
  /** Requests refused because they did not match the schema. */
  readonly invalid: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A real HTTP report receiver on `host` (loopback by default), stoppable on the same port. */
export async function startReceiver(host = '127.0.0.1', fixedPort = 0): Promise<Receiver> {
  const reports: Report[] = [];
  const invalid: string[] = [];
  let port = fixedPort;
  let server: http.Server | undefined;
  const listen = async () => {
    const s = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        let parsed: ReturnType<typeof parseReport>;
        try {
          parsed = parseReport(JSON.parse(body));
        } catch (err) {
          parsed = { ok: false, issues: [{ path: '(body)', message: String(err) }] };
        }
        if (!parsed.ok) {
          invalid.push(JSON.stringify(parsed.issues));
          res.writeHead(400).end();
          return;
        }
        reports.push(parsed.report);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"accepted"}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://${host}:${port}`;
    },
    reports,
    invalid,
    async stop() {
      const s = server;
      server = undefined;
      if (s) {
        await new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        });
      }
    },
    async start() {
      if (!server) await listen();
    },
  };
}

/** Write an agent config file (YAML) and return its path. */
export async function writeAgentConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, 'agent.yaml');
  await writeFile(file, stringify(config));
  return file;
}

/** Poll until `check` returns a value other than undefined/false, or fail naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
