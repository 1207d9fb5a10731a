/**
 * Decrypting an age file (age-encryption.org/v1) with X25519 identities, enough for the data keys
 * SOPS wraps: parse the header, unwrap the file key from an X25519 stanza, check the header MAC,
 * then open the STREAM payload. Node's own crypto only (X25519, HKDF-SHA256, ChaCha20-Poly1305,
 * HMAC-SHA256); pure, no I/O.
 */
import {
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

/** One age identity from a key file, able to open a file key sealed to it. */
export interface AgeIdentity {
  key: KeyObject;
  /** The matching recipient's raw 32-byte public key. */
  publicKey: Buffer;
  /** `age1…`, for messages. */
  recipient: string;
}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const CHUNK = 64 * 1024;

/** The identities of an age key file (`AGE-SECRET-KEY-1…` lines; `#` comments). */
export function parseIdentities(text: string, file: string): AgeIdentity[] {
  const identities: AgeIdentity[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const decoded = bech32Decode(line.toLowerCase());
    if (decoded?.hrp !== 'age-secret-key-' || decoded.data.length !== 32) {
      throw new Error(`${file}:${i + 1}: not an age identity (AGE-SECRET-KEY-1…)`);
    }
    const key = createPrivateKey({
      key: Buffer.concat([PKCS8_X25519, decoded.data]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = Buffer.from(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32));
    identities.push({ key, publicKey, recipient: bech32Encode('age', publicKey) });
  });
  if (identities.length === 0) throw new Error(`${file}: holds no age identity`);
  return identities;
}

/** The plaintext of an age file; throws when no identity opens it or it was tampered with. */
export function ageDecrypt(file: Buffer, identities: AgeIdentity[]): Buffer {
  const { stanzas, headerForMac, mac, payload } = parseHeader(file);
  let fileKey: Buffer | undefined;
  for (const stanza of stanzas) {
    if (stanza.type !== 'X25519' || stanza.args.length !== 1) continue;
    const share = b64(stanza.args[0] as string);
    if (share.length !== 32 || stanza.body.length !== 32) throw new Error('malformed X25519 stanza');
    for (const identity of identities) {
      const shared = diffieHellman({ privateKey: identity.key, publicKey: publicKeyOf(share) });
      const salt = Buffer.concat([share, identity.publicKey]);
      const wrap = Buffer.from(hkdfSync('sha256', shared, salt, 'age-encryption.org/v1/X25519', 32));
      try {
        fileKey = chachaOpen(wrap, Buffer.alloc(12), stanza.body);
        break;
      } catch {
        // Not this identity's stanza.
      }
    }
    if (fileKey) break;
  }
  if (!fileKey) throw new NoIdentityError();
  const hmacKey = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  const expected = createHmac('sha256', hmacKey).update(headerForMac).digest();
  if (expected.length !== mac.length || !timingSafeEqual(expected, mac))
    throw new Error('age header MAC mismatch');
  if (payload.length < 16) throw new Error('age payload is truncated');
  const nonce = payload.subarray(0, 16);
  const key = Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
  return openStream(key, payload.subarray(16));
}

/** None of the identities opens a recipient stanza: try the next one, or name the missing key. */
export class NoIdentityError extends Error {
  constructor() {
    super('none of the configured age identities is a recipient');
    this.name = 'NoIdentityError';
  }
}

interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

function parseHeader(file: Buffer): {
  stanzas: Stanza[];
  headerForMac: Buffer;
  mac: Buffer;
  payload: Buffer;
} {
  const intro = 'age-encryption.org/v1\n';
  if (file.subarray(0, intro.length).toString('latin1') !== intro) throw new Error('not an age v1 file');
  let at = intro.length;
  const stanzas: Stanza[] = [];
  const line = (): string => {
    const end = file.indexOf(0x0a, at);
    if (end === -1) throw new Error('age header is truncated');
    const text = file.subarray(at, end).toString('latin1');
    at = end + 1;
    return text;
  };
  for (let count = 0; count < 64; count++) {
    const start = at;
    const first = line();
    if (first.startsWith('--- ')) {
      const headerForMac = file.subarray(0, start + 3);
      return { stanzas, headerForMac, mac: b64(first.slice(4)), payload: file.subarray(at) };
    }
    if (!first.startsWith('-> ')) throw new Error('malformed age header');
    const [type, ...args] = first.slice(3).split(' ');
    const bodyLines: string[] = [];
    for (;;) {
      const next = line();
      bodyLines.push(next);
      if (next.length < 64) break;
      if (bodyLines.length > 1024) throw new Error('age stanza body is too long');
    }
    stanzas.push({ type: type as string, args, body: b64(bodyLines.join('')) });
  }
  throw new Error('age header has too many stanzas');
}

function openStream(key: Buffer, ciphertext: Buffer): Buffer {
  const chunks: Buffer[] = [];
  const sealed = CHUNK + 16;
  let counter = 0;
  for (let at = 0; ; counter++) {
    const rest = ciphertext.length - at;
    const last = rest <= sealed;
    const chunk = ciphertext.subarray(at, at + Math.min(rest, sealed));
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(counter, 5, 6);
    if (last) nonce[11] = 1;
    chunks.push(chachaOpen(key, nonce, chunk));
    at += chunk.length;
    if (last) break;
  }
  return Buffer.concat(chunks);
}

function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < 16) throw new Error('ciphertext is truncated');
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

function publicKeyOf(raw: Buffer): KeyObject {
  return createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), raw]),
    format: 'der',
    type: 'spki',
  });
}

/** Unpadded standard base64, as age writes it; refuses anything else. */
function b64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw new Error('malformed base64 in age header');
  return Buffer.from(text, 'base64');
}

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function polymod(values: number[]): number {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= generators[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

function bech32Decode(text: string): { hrp: string; data: Buffer } | undefined {
  const sep = text.lastIndexOf('1');
  if (sep < 1 || sep + 7 > text.length) return undefined;
  const hrp = text.slice(0, sep);
  const values = [...text.slice(sep + 1)].map((c) => CHARSET.indexOf(c));
  if (values.some((v) => v === -1)) return undefined;
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) return undefined;
  const data = convertBits(values.slice(0, -6), 5, 8, false);
  return data ? { hrp, data: Buffer.from(data) } : undefined;
}

function bech32Encode(hrp: string, data: Buffer): string {
  const values = convertBits([...data], 8, 5, true) as number[];
  const mod = polymod([...hrpExpand(hrp), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...values, ...checksum].map((v) => CHARSET[v]).join('')}`;
}

function convertBits(data: number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) {
    return undefined;
  }
  return out;
}
