/**
 * The hub's read token file: read when it exists, generated when it does not (32 random bytes,
 * base64url, mode 0600, created exclusively so two hubs starting together end up with one token).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../../../contract/usage.js';

/** The read token in a file, generated there first when the file does not exist. */
export function readTokenOf(file: string): { token: string; generated: boolean } {
  const existing = readIfThere(file);
  if (existing !== undefined) return { token: nonEmpty(existing, file), generated: false };
  mkdirSync(dirname(file), { recursive: true });
  const token = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true };
  } catch (err) {
    // Another hub created it first: use its token.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { token: nonEmpty(readFileSync(file, 'utf8'), file), generated: false };
    throw err;
  }
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function nonEmpty(text: string, file: string): string {
  const token = text.trim();
  if (token === '')
    throw new UsageError(
      `read token file ${file} is empty: put a token in it, or delete it to have one generated`,
    );
  return token;
}
