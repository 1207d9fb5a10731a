/**
 * A real SSH Git server for tests: Debian's OpenSSH `sshd` on a loopback port with its own host
 * key and authorized keys, serving the bare repositories under `root` through the login user's
 * `git-upload-pack`. `rotateHostKey()` restarts it on the same port with a new host key (a "host
 * key changed" attack); `keygen()` makes client keys with the real `ssh-keygen`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd';

export interface SshKeyPair {
  /** Private key file (mode 0600, no passphrase). */
  privateKey: string;
  /** The public key line (`ssh-ed25519 AAAA… comment`). */
  publicKey: string;
}

export interface SshGitServer {
  readonly port: number;
  readonly user: string;
  /** `ssh://user@127.0.0.1:PORT/<root>/<repo>.git` */
  url(repo: string): string;
  /** A known_hosts line for the current host key (`[127.0.0.1]:PORT ssh-ed25519 …`). */
  knownHostsLine(): string;
  /** Allow this public key to log in (replaces the authorized keys). */
  authorize(...publicKeys: string[]): void;
  /** A new host key, sshd restarted on the same port. */
  rotateHostKey(): Promise<void>;
  close(): Promise<void>;
}

/** Make an ed25519 key pair with the real ssh-keygen. */
export function keygen(dir: string, name: string): SshKeyPair {
  mkdirSync(dir, { recursive: true });
  const privateKey = path.join(dir, name);
  rmSync(privateKey, { force: true });
  rmSync(`${privateKey}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  return { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

export async function startSshGitServer(opts: { root: string; dir: string }): Promise<SshGitServer> {
  const dir = path.resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  // sshd refuses to start without its privilege-separation folder when run as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const user = userInfo().username;
  const port = await freePort();
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, '', { mode: 0o600 });
  let hostKey = makeHostKey(dir, 0);
  let generation = 0;
  let proc: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const config = path.join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey.privateKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AllowUsers ${user}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'AllowAgentForwarding no',
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'PrintMotd no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    });
    const ready = await waitListening(port, child, 10_000);
    if (!ready) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${log}`);
    }
    proc = child;
  };

  const stop = async (): Promise<void> => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    user,
    url: (repo) => `ssh://${user}@127.0.0.1:${port}${path.resolve(opts.root, `${repo}.git`)}`,
    knownHostsLine: () => `[127.0.0.1]:${port} ${hostKey.publicKey.split(' ').slice(0, 2).join(' ')}`,
    authorize: (...keys) => writeFileSync(authorizedKeys, `${keys.join('\n')}\n`, { mode: 0o600 }),
    async rotateHostKey() {
      await stop();
      generation++;
      hostKey = makeHostKey(dir, generation);
      await start();
    },
    close: stop,
  };
}

function makeHostKey(dir: string, generation: number): SshKeyPair {
  return keygen(path.join(dir, 'host'), `host-key-${generation}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
