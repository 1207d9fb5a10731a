/**
 * SOPS-encrypted YAML files, decrypted as `sops -d` does (pure): the data key is unwrapped from an
 * age recipient with the configured identities, every value is opened with AES-256-GCM (its path
 * `a:b:` as additional data), and the file's MAC (SHA-512 over every value, in order, itself
 * encrypted with `lastmodified` as additional data) must match, so a value edited, moved or
 * dropped after encryption fails the render instead of being applied.
 *
 * Only Kubernetes Secrets may be encrypted: their `data` and `stringData` are the values the plan,
 * previews and reports already redact, so a decrypted value never reaches a diff or a log.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { type AgeIdentity, ageDecrypt, NoIdentityError } from './age.js';

/** How render treats SOPS files: decrypt with these identities, or keep them opaque (offline previews). */
export type SopsMode = { identities: AgeIdentity[] } | 'opaque';

/** A located problem with one SOPS file; render turns it into a RenderError. */
export class SopsError extends Error {
  constructor(
    message: string,
    readonly doc: number,
    readonly path: (string | number)[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SopsError';
  }
}

interface Metadata {
  lastmodified: string;
  mac: string;
  age: { recipient: string; enc: string }[];
  unencrypted_suffix?: string;
  encrypted_suffix?: string;
  unencrypted_regex?: string;
  encrypted_regex?: string;
}

/** True when a document carries SOPS metadata (a top-level `sops` map with a `mac`). */
export function isSopsDocument(value: unknown): boolean {
  if (!isMap(value)) return false;
  const sops = value.sops;
  return isMap(sops) && typeof sops.mac === 'string';
}

/**
 * The documents of one SOPS file, decrypted (or, when opaque, with the metadata dropped and the
 * ciphertext kept, so two versions compare equal exactly when their encrypted form is equal).
 */
export function decryptSopsFile(docs: unknown[], mode: SopsMode): unknown[] {
  const index = docs.findIndex(isSopsDocument);
  const first = docs[index] as Record<string, unknown>;
  const metadata = readMetadata(first.sops, index);
  const plain = docs.map((d) => (isMap(d) ? withoutKey(d, 'sops') : d));
  if (mode === 'opaque') return onlySecrets(plain);
  const key = dataKey(metadata, mode.identities, index);
  const hash = createHash('sha512');
  const decrypted = plain.map((doc, i) => walk(doc, [], metadata, key, hash, i));
  const computed = hash.digest('hex').toUpperCase();
  let stored: unknown;
  try {
    stored = openValue(metadata.mac, key, metadata.lastmodified);
  } catch {
    throw new SopsError('the SOPS MAC cannot be opened: the metadata was changed after encryption', index, [
      'sops',
      'mac',
    ]);
  }
  const a = Buffer.from(String(stored));
  const b = Buffer.from(computed);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new SopsError('SOPS MAC mismatch: a value was changed, moved or removed after encryption', index, [
      'sops',
      'mac',
    ]);
  }
  return onlySecrets(decrypted);
}

function onlySecrets(docs: unknown[]): unknown[] {
  docs.forEach((d, i) => {
    if (!isMap(d) || d.apiVersion !== 'v1' || d.kind !== 'Secret') {
      throw new SopsError(
        'only v1 Secrets may be SOPS-encrypted (their data and stringData are redacted everywhere); other kinds would show decrypted values in diffs',
        i,
      );
    }
  });
  return docs;
}

function readMetadata(raw: unknown, doc: number): Metadata {
  const m = raw as Record<string, unknown>;
  const at = (field: string) => ['sops', field];
  if (typeof m.lastmodified !== 'string')
    throw new SopsError('sops.lastmodified is missing', doc, at('lastmodified'));
  if (m.mac_only_encrypted === true)
    throw new SopsError('sops.mac_only_encrypted is not supported', doc, at('mac_only_encrypted'));
  for (const field of ['unencrypted_comment_regex', 'encrypted_comment_regex']) {
    if (typeof m[field] === 'string' && m[field] !== '') {
      throw new SopsError(`sops.${field} is not supported`, doc, at(field));
    }
  }
  const age = Array.isArray(m.age) ? m.age : [];
  const metadata: Metadata = {
    lastmodified: m.lastmodified,
    mac: m.mac as string,
    age: age.filter(isMap).map((r) => ({ recipient: String(r.recipient), enc: String(r.enc) })),
  };
  for (const rule of [
    'unencrypted_suffix',
    'encrypted_suffix',
    'unencrypted_regex',
    'encrypted_regex',
  ] as const) {
    const value = m[rule];
    if (typeof value === 'string' && value !== '') metadata[rule] = value;
  }
  return metadata;
}

function dataKey(metadata: Metadata, identities: AgeIdentity[], doc: number): Buffer {
  if (metadata.age.length === 0) {
    throw new SopsError('the file has no age recipient (only age keys are supported)', doc, ['sops', 'age']);
  }
  for (const recipient of metadata.age) {
    const armored = /-----BEGIN AGE ENCRYPTED FILE-----([\s\S]*?)-----END AGE ENCRYPTED FILE-----/.exec(
      recipient.enc,
    );
    if (!armored) continue;
    try {
      const key = ageDecrypt(Buffer.from((armored[1] as string).replace(/\s+/g, ''), 'base64'), identities);
      if (key.length === 32) return key;
    } catch (err) {
      if (!(err instanceof NoIdentityError)) {
        throw new SopsError(
          `the data key for ${recipient.recipient} cannot be opened: ${(err as Error).message}`,
          doc,
          ['sops', 'age'],
          { cause: err },
        );
      }
    }
  }
  const have = identities.map((i) => i.recipient).join(', ');
  const want = metadata.age.map((r) => r.recipient).join(', ');
  throw new SopsError(`no configured age identity (${have}) is a recipient of this file (${want})`, doc, [
    'sops',
    'age',
  ]);
}

function walk(
  value: unknown,
  path: string[],
  metadata: Metadata,
  key: Buffer,
  hash: ReturnType<typeof createHash>,
  doc: number,
  at: (string | number)[] = [],
): unknown {
  if (Array.isArray(value)) return value.map((v, i) => walk(v, path, metadata, key, hash, doc, [...at, i]));
  if (isMap(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k], metadata, key, hash, doc, [...at, k])]),
    );
  }
  if (value === null || value === undefined) return value;
  let plain: unknown = value;
  if (shouldBeEncrypted(path, metadata)) {
    if (typeof value !== 'string') throw new SopsError('this value should be encrypted but is not', doc, at);
    try {
      plain = openValue(value, key, `${path.join(':')}:`);
    } catch (err) {
      throw new SopsError(`this value cannot be decrypted: ${(err as Error).message}`, doc, at, {
        cause: err,
      });
    }
  }
  hash.update(macBytes(plain));
  return plain;
}

function shouldBeEncrypted(path: string[], m: Metadata): boolean {
  let encrypted = true;
  if (m.unencrypted_suffix && path.some((p) => p.endsWith(m.unencrypted_suffix as string))) encrypted = false;
  if (m.encrypted_suffix) encrypted = path.some((p) => p.endsWith(m.encrypted_suffix as string));
  if (m.unencrypted_regex && path.some((p) => new RegExp(m.unencrypted_regex as string).test(p)))
    encrypted = false;
  if (m.encrypted_regex) encrypted = path.some((p) => new RegExp(m.encrypted_regex as string).test(p));
  return encrypted;
}

const ENCRYPTED = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/;

function openValue(text: string, key: Buffer, aad: string): unknown {
  if (text === '') return '';
  const m = ENCRYPTED.exec(text);
  if (!m) throw new Error('not a SOPS encrypted value');
  const [data, iv, tag] = [m[1], m[2], m[3]].map((p) => Buffer.from(p as string, 'base64')) as [
    Buffer,
    Buffer,
    Buffer,
  ];
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  const bytes = Buffer.concat([decipher.update(data), decipher.final()]);
  const text8 = bytes.toString('utf8');
  switch (m[4]) {
    case 'str':
    case 'bytes':
      return text8;
    case 'int':
    case 'float':
      return Number(text8);
    case 'bool':
      return /^(1|t|T|TRUE|true|True)$/.test(text8);
    default:
      throw new Error(`unknown SOPS value type ${m[4]}`);
  }
}

/** A value's bytes as SOPS hashes them (Python-era `True`/`False` for booleans). */
function macBytes(value: unknown): Buffer {
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  return Buffer.from(String(value));
}

function withoutKey(map: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = map;
  return rest;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
