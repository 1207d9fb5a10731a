/**
 * The age identities a source decrypts SOPS files with, read from its key file at each use (a
 * rotated Secret applies at the next reconcile). The file's text never reaches a log or a report.
 */
import { readFile } from 'node:fs/promises';
import { parseIdentities, type SopsMode } from '../render/sops/index.js';

/** A source's `decryption`: the file holding the age identities for its SOPS files. */
export interface DecryptionConfig {
  /** File of age identities (`AGE-SECRET-KEY-1…`, one a line), e.g. a mounted Secret. */
  ageKeyFile: string;
}

/** The decryption key file cannot be read or parsed; names the file. */
export class DecryptionKeyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DecryptionKeyError';
  }
}

/** The render option for a source: its identities, or undefined (SOPS files then fail to render). */
export async function sopsModeFor(decryption: DecryptionConfig | undefined): Promise<SopsMode | undefined> {
  if (!decryption) return undefined;
  let text: string;
  try {
    text = await readFile(decryption.ageKeyFile, 'utf8');
  } catch (err) {
    throw new DecryptionKeyError(
      `decryption.ageKeyFile ${decryption.ageKeyFile} cannot be read: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return { identities: parseIdentities(text, decryption.ageKeyFile) };
  } catch (err) {
    throw new DecryptionKeyError((err as Error).message, { cause: err });
  }
}
