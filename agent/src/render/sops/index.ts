/**
 * The render hook for SOPS files: after a file is parsed, a file whose documents carry SOPS
 * metadata is decrypted (or kept opaque for offline previews) before anything reads its objects.
 * Without a configured key a SOPS file is a render error: ciphertext is never applied as a value.
 */
import type { ParsedFile } from '../documents.js';
import { RenderError } from '../errors.js';
import { decryptSopsFile, isSopsDocument, SopsError, type SopsMode } from './decrypt.js';

export { parseIdentities } from './age.js';
export type { SopsMode } from './decrypt.js';

/** A parsed file with its SOPS values decrypted, or unchanged when it is not a SOPS file. */
export function readSopsFile(parsed: ParsedFile, mode: SopsMode | undefined): ParsedFile {
  if (!parsed.docs.some((d) => isSopsDocument(d.value))) return parsed;
  const file = parsed.docs[0]?.file ?? '';
  const fail = (message: string, at = 0, path: (string | number)[] = []): ParsedFile => {
    const doc = parsed.docs[at] ?? parsed.docs[0];
    const where = doc ? doc.locate(path) : {};
    const error = new RenderError({
      code: 'sops',
      file,
      ...(doc ? { doc: doc.index } : {}),
      ...where,
      message,
    });
    return { docs: [], errors: [...parsed.errors, error] };
  };
  if (mode === undefined) {
    return fail('this file is SOPS-encrypted but no decryption key is configured (decryption.ageKeyFile)');
  }
  try {
    const values = decryptSopsFile(
      parsed.docs.map((d) => d.value),
      mode,
    );
    return { ...parsed, docs: parsed.docs.map((d, i) => ({ ...d, value: values[i] })) };
  } catch (err) {
    if (err instanceof SopsError) return fail(err.message, err.doc, err.path);
    throw err;
  }
}
