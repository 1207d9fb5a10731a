/**
 * Git over SSH for isomorphic-git, which only speaks smart HTTP: an HttpClient whose two requests
 * (`GET …/info/refs?service=git-upload-pack` and `POST …/git-upload-pack`) each run the system
 * OpenSSH client against the remote's `git-upload-pack`, and translate its stateful protocol into
 * the stateless HTTP one. The ref advertisement is framed as smart HTTP frames it; for the POST,
 * the advertisement is read and dropped, then the request body (wants, shallow, deepen, haves,
 * done) goes in whole and the rest of the output is the response, byte for byte what
 * `git-upload-pack --stateless-rpc` would send.
 *
 * OpenSSH, not a JavaScript SSH library: its host key checking, key formats and ciphers are the
 * ones operators already trust and audit. Every run is locked down: no user or system ssh_config,
 * only the configured key, no agent, no forwarding, no password prompts, and the host key must
 * already be in the configured known_hosts file (never added, never updated).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { knownHostsName, type SshRemote, shellQuote } from '../model/ssh-url.js';
import { GitTimeoutError } from './http.js';

/** SSH credentials of a source: the key file and the known-hosts file. */
export interface SshAuth {
  /** Private key file (OpenSSH or PEM format, no passphrase). */
  sshKeyFile: string;
  /** known_hosts file holding the server's host key (`host` or `[host]:port` entries). */
  knownHostsFile: string;
}

/** Why SSH failed: host key, authentication, unreachable, or the remote's own error. */
export type SshFailure = 'HostKey' | 'Auth' | 'Unreachable' | 'Remote';

/** ssh or the remote git-upload-pack failed; `kind` says which way. */
export class SshTransportError extends Error {
  constructor(
    readonly kind: SshFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SshTransportError';
  }
}

/** A hostile or broken server may not make the agent buffer more than this before a ref list ends. */
const MAX_ADVERTISEMENT = 64 * 1024 * 1024;
const SERVICE = 'git-upload-pack';

/** How to run ssh for one fetch: credentials, timeout and the binary. */
export interface SshClientOptions {
  remote: SshRemote;
  auth: SshAuth;
  signal: AbortSignal;
  timeoutMs: number;
  /** The ssh binary; default `ssh` on PATH. */
  sshPath?: string;
}

/** An HttpClient that also ends the SSH session it may still hold open. */
export interface SshHttpClient extends HttpClient {
  close(): void;
}

/**
 * An isomorphic-git HttpClient that answers every request through `ssh … git-upload-pack`. The
 * session that listed the refs stays open for the fetch request that usually follows, so one
 * fetch costs one SSH handshake, not two; `close()` ends a session no request took.
 */
export function sshHttpClient(opts: SshClientOptions): SshHttpClient {
  let held: SshRun | undefined;
  const release = () => {
    const run = held;
    held = undefined;
    if (!run) return;
    // A flush right after the refs means "I want nothing": upload-pack exits cleanly.
    run.child.stdin?.end('0000');
    setTimeout(() => run.kill(), 5000).unref();
  };
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const method = req.method ?? 'GET';
      const url = req.url;
      if (method === 'GET' && url.endsWith(`/info/refs?service=${SERVICE}`)) {
        release();
        const run = await startSsh(opts);
        let advertisement: Uint8Array;
        try {
          ({ advertisement } = await readAdvertisement(run));
        } catch (err) {
          run.kill();
          throw err;
        }
        held = run;
        const framed = Buffer.concat([pktLine(`# service=${SERVICE}\n`), Buffer.from('0000'), advertisement]);
        return { ...ok(url, method, 'advertisement'), body: once(framed) };
      }
      if (method === 'POST' && url.endsWith(`/${SERVICE}`)) {
        const body = req.body ? await collect(req.body) : new Uint8Array();
        let run = held;
        held = undefined;
        let rest: Uint8Array = new Uint8Array();
        if (!run) {
          run = await startSsh(opts);
          try {
            ({ rest } = await readAdvertisement(run));
          } catch (err) {
            run.kill();
            throw err;
          }
        }
        run.child.stdin?.end(body);
        return { ...ok(url, method, 'result'), body: streamRest(run, rest) };
      }
      throw new SshTransportError('Remote', `Git over SSH supports fetching only, not ${method} ${url}`);
    },
    close: release,
  };
}

/** The ssh command line: every option that could widen trust or prompt is pinned. */
export function sshArgs(remote: SshRemote, auth: SshAuth, timeoutMs: number): string[] {
  const connectSeconds = Math.max(1, Math.min(60, Math.ceil(timeoutMs / 1000)));
  const options = [
    'BatchMode=yes',
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile=${auth.knownHostsFile}`,
    'GlobalKnownHostsFile=/dev/null',
    'UpdateHostKeys=no',
    'CheckHostIP=no',
    'IdentitiesOnly=yes',
    'IdentityAgent=none',
    'PasswordAuthentication=no',
    'KbdInteractiveAuthentication=no',
    'ForwardAgent=no',
    'ForwardX11=no',
    'ClearAllForwardings=yes',
    'PermitLocalCommand=no',
    'ProxyCommand=none',
    'ControlMaster=no',
    'ControlPath=none',
    `ConnectTimeout=${connectSeconds}`,
    'ServerAliveInterval=15',
    'ServerAliveCountMax=3',
    'LogLevel=ERROR',
  ];
  const args = ['-F', '/dev/null', '-i', auth.sshKeyFile, '-T', '-x', '-a'];
  for (const option of options) args.push('-o', option);
  if (remote.port !== undefined) args.push('-p', String(remote.port));
  const destination = remote.user ? `${remote.user}@${remote.host}` : remote.host;
  args.push('--', destination, `${SERVICE} ${shellQuote(remote.path)}`);
  return args;
}

async function* streamRest(run: SshRun, first: Uint8Array): AsyncIterableIterator<Uint8Array> {
  try {
    if (first.byteLength > 0) yield first;
    for (;;) {
      const chunk = await run.next();
      if (chunk === null) break;
      yield chunk;
    }
    await run.exited;
  } finally {
    run.kill();
  }
}

interface SshRun {
  child: ChildProcess;
  /** The next stdout chunk; null at the end; rejects with a located SshTransportError. */
  next(): Promise<Uint8Array | null>;
  /** Resolves on a clean exit, rejects with an SshTransportError otherwise. */
  exited: Promise<void>;
  kill(): void;
}

async function startSsh(opts: SshClientOptions): Promise<SshRun> {
  for (const [field, file] of [
    ['sshKeyFile', opts.auth.sshKeyFile],
    ['knownHostsFile', opts.auth.knownHostsFile],
  ] as const) {
    try {
      await access(file, constants.R_OK);
    } catch {
      throw new SshTransportError('Auth', `auth.${field} ${file} cannot be read`);
    }
  }
  const target = `${knownHostsName(opts.remote)}`;
  // No inherited environment: no SSH_AUTH_SOCK, no proxies, nothing a plugin could read.
  const child = spawn(opts.sshPath ?? 'ssh', sshArgs(opts.remote, opts.auth, opts.timeoutMs), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
  });
  child.stdin?.on('error', () => {});
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  child.stdout?.on('data', (d: Buffer) => {
    chunks.push(d);
    child.stdout?.pause();
    notify();
  });
  child.stdout?.on('end', () => {
    ended = true;
    notify();
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => {
      failure = new SshTransportError('Unreachable', `cannot run ssh: ${err.message}`, { cause: err });
      reject(failure);
      notify();
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      failure = opts.signal.aborted
        ? new GitTimeoutError(`ssh://${target}`, opts.timeoutMs)
        : explain(code, signal, stderr, target, opts.auth.knownHostsFile);
      reject(failure);
      ended = true;
      notify();
    });
  });
  exited.catch(() => {});
  const onAbort = () => child.kill('SIGKILL');
  opts.signal.addEventListener('abort', onAbort, { once: true });
  child.once('close', () => opts.signal.removeEventListener('abort', onAbort));
  if (opts.signal.aborted) onAbort();
  return {
    child,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    async next() {
      for (;;) {
        const chunk = chunks.shift();
        if (chunk) {
          child.stdout?.resume();
          return chunk;
        }
        if (ended) {
          // Let a failed exit win over a quiet end of output.
          await exited;
          return null;
        }
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/** Read pkt-lines up to the flush that ends the ref advertisement; return it and what followed. */
async function readAdvertisement(run: SshRun): Promise<{ advertisement: Uint8Array; rest: Uint8Array }> {
  let buffer: Buffer = Buffer.alloc(0);
  let offset = 0;
  for (;;) {
    while (buffer.length - offset >= 4) {
      const length = Number.parseInt(buffer.subarray(offset, offset + 4).toString('latin1'), 16);
      if (
        !/^[0-9a-f]{4}$/i.test(buffer.subarray(offset, offset + 4).toString('latin1')) ||
        (length > 0 && length < 4)
      ) {
        throw new SshTransportError('Remote', 'the SSH server did not answer with the Git protocol');
      }
      if (length === 0) {
        const end = offset + 4;
        return { advertisement: buffer.subarray(0, end), rest: buffer.subarray(end) };
      }
      if (buffer.length - offset < length) break;
      offset += length;
    }
    if (buffer.length > MAX_ADVERTISEMENT) {
      throw new SshTransportError('Remote', `the ref list is larger than ${MAX_ADVERTISEMENT} bytes`);
    }
    const chunk = await run.next();
    if (chunk === null)
      throw new SshTransportError('Remote', 'the SSH server closed before listing its refs');
    buffer = Buffer.concat([buffer, chunk]);
  }
}

function explain(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  target: string,
  knownHosts: string,
): SshTransportError {
  const text = stderr.replace(/\r/g, '');
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(text)) {
    return new SshTransportError(
      'HostKey',
      `the host key of ${target} does not match ${knownHosts}: refusing to connect (a changed key can mean an attack)`,
    );
  }
  if (/host key is known|Host key verification failed/.test(text)) {
    return new SshTransportError(
      'HostKey',
      `the host key of ${target} is not in ${knownHosts}: refusing to connect`,
    );
  }
  if (/Permission denied|Too many authentication failures|Load key .*: /.test(text)) {
    return new SshTransportError('Auth', `${target} refused the SSH key: ${lastLine(text)}`);
  }
  if (code === 255 || signal !== null) {
    return new SshTransportError(
      'Unreachable',
      `ssh to ${target} failed: ${lastLine(text) || `signal ${signal}`}`,
    );
  }
  return new SshTransportError(
    'Remote',
    `git-upload-pack on ${target} exited with ${code}: ${lastLine(text)}`,
  );
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? '').slice(0, 500);
}

function pktLine(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
}

function ok(url: string, method: string, kind: 'advertisement' | 'result'): Omit<GitHttpResponse, 'body'> {
  return {
    url,
    method,
    statusCode: 200,
    statusMessage: 'OK',
    headers: { 'content-type': `application/x-${SERVICE}-${kind}` },
  };
}

async function* once(data: Uint8Array): AsyncIterableIterator<Uint8Array> {
  yield data;
}

async function collect(body: AsyncIterableIterator<Uint8Array> | Uint8Array[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
