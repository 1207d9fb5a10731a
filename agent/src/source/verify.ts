/**
 * Checking a commit's or tag's signature against a source's trusted keys: OpenPGP with `gpgv`
 * (GnuPG's verify-only tool: no keyring of its own, no trust database, no agent, never fetches a
 * key), SSH signatures with `ssh-keygen -Y verify` (namespace `git`, as `git verify-commit` uses).
 * Each check runs in a fresh private folder with only PATH in the environment; any answer other
 * than a clean good signature from a configured key is a SignatureError saying why.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseKeyFile, type SignedPayload, type TrustedKeys } from './signature.js';

/** Which signature a source requires: the head commit's, a tag's, or both. */
export type VerifyMode = 'head' | 'tag' | 'head-and-tag';

/** A source's `verify`: the mode and the file of trusted keys. */
export interface VerifyPolicy {
  mode: VerifyMode;
  /** Files of trusted public keys (OpenPGP or SSH). */
  keys: string[];
}

/** An object failed its signature check; the source keeps its last verified commit. */
export class SignatureError extends Error {
  constructor(
    readonly object: string,
    readonly why: string,
    options?: ErrorOptions,
  ) {
    super(`${object}: ${why}`, options);
    this.name = 'SignatureError';
  }
}

/** The trusted keys as read from their file, with what was skipped. */
export interface LoadedKeys extends TrustedKeys {
  /** Changes when any key file does: verdicts are cached per object and key set. */
  digest: string;
}

/** Read every key file of the policy (at each fetch, so rotated keys apply at once). */
export async function loadKeys(files: string[]): Promise<LoadedKeys> {
  const hash = createHash('sha256');
  const keys: LoadedKeys = { openpgp: [], ssh: [], digest: '' };
  for (const file of files) {
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch (err) {
      throw new SignatureError('verify.keys', `${file} cannot be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
    hash.update(file).update('\0').update(content).update('\0');
    let parsed: TrustedKeys;
    try {
      parsed = parseKeyFile(file, content);
    } catch (err) {
      throw new SignatureError('verify.keys', (err as Error).message, { cause: err });
    }
    keys.openpgp.push(...parsed.openpgp);
    keys.ssh.push(...parsed.ssh);
  }
  keys.digest = hash.digest('hex');
  return keys;
}

/** Resolves with who signed (a key fingerprint); throws SignatureError otherwise. */
export async function verifySigned(
  object: string,
  signed: SignedPayload,
  keys: LoadedKeys,
  workDir: string,
): Promise<string> {
  if (signed.signature === undefined) throw new SignatureError(object, 'is not signed');
  if (signed.format === 'openpgp') {
    if (keys.openpgp.length === 0)
      throw new SignatureError(object, 'has an OpenPGP signature but no OpenPGP key is trusted');
    return inTempDir(workDir, (dir) => verifyOpenPgp(object, signed, keys, dir));
  }
  if (signed.format === 'ssh') {
    if (keys.ssh.length === 0)
      throw new SignatureError(object, 'has an SSH signature but no SSH key is trusted');
    return inTempDir(workDir, (dir) => verifySsh(object, signed, keys, dir));
  }
  throw new SignatureError(object, 'has a signature of a kind Strata does not check (only OpenPGP and SSH)');
}

async function verifyOpenPgp(
  object: string,
  signed: SignedPayload,
  keys: LoadedKeys,
  dir: string,
): Promise<string> {
  const keyring = path.join(dir, 'trusted.gpg');
  await writeFile(keyring, Buffer.concat(keys.openpgp), { mode: 0o600 });
  await writeFile(path.join(dir, 'payload'), signed.payload);
  await writeFile(path.join(dir, 'signature.asc'), signed.signature ?? '');
  const run = await execute(
    'gpgv',
    ['--status-fd', '1', '--keyring', keyring, path.join(dir, 'signature.asc'), path.join(dir, 'payload')],
    { GNUPGHOME: dir },
  );
  const status = run.stdout.split('\n').filter((l) => l.startsWith('[GNUPG:] '));
  const words = status.map((l) => l.split(' ')[1]);
  const refusal = ['BADSIG', 'ERRSIG', 'EXPSIG', 'EXPKEYSIG', 'REVKEYSIG', 'NO_PUBKEY'].find((w) =>
    words.includes(w),
  );
  if (refusal === 'NO_PUBKEY' || refusal === 'ERRSIG') {
    throw new SignatureError(object, `is signed by an OpenPGP key that is not trusted (${keyIdOf(status)})`);
  }
  if (refusal === 'BADSIG')
    throw new SignatureError(object, 'has a bad OpenPGP signature (the content was changed after signing)');
  if (refusal) throw new SignatureError(object, `has an OpenPGP signature gpgv refuses (${refusal})`);
  const valid = status.find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
  if (run.code !== 0 || !valid || !words.includes('GOODSIG')) {
    throw new SignatureError(object, `OpenPGP signature not verified: ${lastLine(run.stderr)}`);
  }
  return `openpgp:${valid.split(' ')[2]}`;
}

async function verifySsh(
  object: string,
  signed: SignedPayload,
  keys: LoadedKeys,
  dir: string,
): Promise<string> {
  const allowed = path.join(dir, 'allowed_signers');
  const principal = 'strata-trusted-key';
  await writeFile(allowed, keys.ssh.map((k) => `${principal} namespaces="git" ${k}\n`).join(''), {
    mode: 0o600,
  });
  await writeFile(path.join(dir, 'signature.sig'), signed.signature ?? '');
  const run = await execute(
    'ssh-keygen',
    ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', path.join(dir, 'signature.sig')],
    {},
    signed.payload,
  );
  const good = /Good "git" signature for \S+ with \S+ key (\S+)/.exec(run.stdout + run.stderr);
  if (run.code === 0 && good) return `ssh:${good[1]}`;
  const text = run.stdout + run.stderr;
  if (
    /Could not verify signature|no principal matched|not found/i.test(text) &&
    !/incorrect signature/i.test(text)
  ) {
    throw new SignatureError(
      object,
      'is signed by an SSH key that is not trusted, or the content was changed after signing',
    );
  }
  throw new SignatureError(object, `SSH signature not verified: ${lastLine(text)}`);
}

function keyIdOf(status: string[]): string {
  const line = status.find((l) => /^\[GNUPG:\] (NO_PUBKEY|ERRSIG) /.test(l));
  return line ? `key ${line.split(' ')[2]}` : 'unknown key';
}

async function inTempDir<T>(workDir: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(workDir, 'verify-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Execution {
  code: number | null;
  stdout: string;
  stderr: string;
}

const VERIFY_TIMEOUT_MS = 30_000;

function execute(
  command: string,
  args: string[],
  env: Record<string, string>,
  input?: Buffer,
): Promise<Execution> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', ...env },
      timeout: VERIFY_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-65_536);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-65_536);
    });
    child.stdin.on('error', () => {});
    child.once('error', (err) =>
      reject(new SignatureError('verify', `cannot run ${command}: ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function lastLine(text: string): string {
  return (text.trim().split('\n').at(-1) ?? '').slice(0, 300);
}
