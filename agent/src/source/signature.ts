/**
 * Signatures of Git objects, split the way git itself splits them (pure): a commit carries its
 * signature in a `gpgsig` header and is signed over the commit without that header; an annotated
 * tag carries it at the end of its message and is signed over everything before it. Also the
 * trusted keys of a verify policy: OpenPGP public keys (armored or binary) and SSH public keys
 * (plain `ssh-ed25519 AAAA…` lines or allowed_signers lines).
 */
export type SignatureFormat = 'openpgp' | 'ssh' | 'x509';

/** A commit or tag's signature and the bytes it signs. */
export interface SignedPayload {
  /** The bytes the signer signed. */
  payload: Buffer;
  /** The signature block, or undefined when the object is not signed. */
  signature?: string;
  format?: SignatureFormat;
}

const MARKERS: [string, SignatureFormat][] = [
  ['-----BEGIN PGP SIGNATURE-----', 'openpgp'],
  ['-----BEGIN PGP MESSAGE-----', 'openpgp'],
  ['-----BEGIN SSH SIGNATURE-----', 'ssh'],
  ['-----BEGIN SIGNED MESSAGE-----', 'x509'],
];

function formatOf(text: string): SignatureFormat | undefined {
  return MARKERS.find(([marker]) => text.startsWith(marker))?.[1];
}

/** A raw commit object's signed payload and signature (`gpgsig` header, continuation lines). */
export function splitCommit(raw: Uint8Array): SignedPayload {
  const text = Buffer.from(raw).toString('latin1');
  const headerEnd = text.indexOf('\n\n');
  const headers = headerEnd === -1 ? text : text.slice(0, headerEnd + 1);
  const body = headerEnd === -1 ? '' : text.slice(headerEnd + 1);
  const kept: string[] = [];
  const signatures: string[] = [];
  let inSignature = false;
  for (const line of headers.split('\n').slice(0, -1)) {
    if (inSignature && line.startsWith(' ')) {
      signatures[signatures.length - 1] += `\n${line.slice(1)}`;
      continue;
    }
    inSignature = false;
    if (line.startsWith('gpgsig ') || line.startsWith('gpgsig-sha256 ')) {
      signatures.push(line.slice(line.indexOf(' ') + 1));
      inSignature = true;
      continue;
    }
    kept.push(line);
  }
  const payload = Buffer.from(`${kept.map((l) => `${l}\n`).join('')}${body}`, 'latin1');
  if (signatures.length === 0) return { payload };
  // Two signature headers leave room for confusion about which one was checked: refuse them.
  if (signatures.length > 1) return { payload, signature: signatures.join('\n'), format: 'x509' };
  const signature = `${signatures[0]}\n`;
  const format = formatOf(signature);
  return { payload, signature, ...(format ? { format } : {}) };
}

/** A raw annotated tag object's signed payload and the signature appended to its message. */
export function splitTag(raw: Uint8Array): SignedPayload {
  const text = Buffer.from(raw).toString('latin1');
  // Like git: the last line that starts a signature begins it.
  let start = -1;
  for (let at = 0; at < text.length; ) {
    if (formatOf(text.slice(at, at + 40))) start = at;
    const eol = text.indexOf('\n', at);
    if (eol === -1) break;
    at = eol + 1;
  }
  if (start === -1) return { payload: Buffer.from(raw) };
  const signature = text.slice(start);
  const format = formatOf(signature);
  return {
    payload: Buffer.from(text.slice(0, start), 'latin1'),
    signature,
    ...(format ? { format } : {}),
  };
}

/** The keys whose signatures a source accepts. */
export interface TrustedKeys {
  /** OpenPGP public keys as binary packets (a keyring gpgv reads). */
  openpgp: Buffer[];
  /** SSH public keys as `type base64` pairs. */
  ssh: string[];
}

const SSH_KEY_TYPE =
  /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** The keys of one key file; throws naming the file and line when nothing in it is a key. */
export function parseKeyFile(file: string, content: Buffer): TrustedKeys {
  const text = content.toString('latin1');
  if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----'))
    return { openpgp: [dearmor(file, text)], ssh: [] };
  // A binary OpenPGP packet starts with a byte whose top bit is set.
  if (content.length > 0 && ((content[0] as number) & 0x80) !== 0) return { openpgp: [content], ssh: [] };
  const ssh: string[] = [];
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    // allowed_signers lines put principals and options before the key: take the key pair itself.
    const tokens = trimmed.split(/\s+/);
    const at = tokens.findIndex((t) => SSH_KEY_TYPE.test(t));
    const blob = at === -1 ? undefined : tokens[at + 1];
    if (blob === undefined || !/^[A-Za-z0-9+/]+=*$/.test(blob)) {
      throw new Error(`${file}:${i + 1}: not an OpenPGP public key block nor an SSH public key line`);
    }
    ssh.push(`${tokens[at]} ${blob}`);
  });
  if (ssh.length === 0) throw new Error(`${file}: holds no key`);
  return { openpgp: [], ssh };
}

/** OpenPGP ASCII armor to binary packets, every public key block of the file. */
function dearmor(file: string, text: string): Buffer {
  const blocks = text.split('-----BEGIN PGP PUBLIC KEY BLOCK-----').slice(1);
  const parts = blocks.map((block) => {
    const end = block.indexOf('-----END PGP PUBLIC KEY BLOCK-----');
    if (end === -1) throw new Error(`${file}: an OpenPGP key block has no END line`);
    const lines = block.slice(0, end).replace(/\r/g, '').split('\n');
    const blank = lines.findIndex((l, i) => i > 0 && l.trim() === '');
    const data = lines
      .slice(blank === -1 ? 1 : blank + 1)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('='));
    return Buffer.from(data.join(''), 'base64');
  });
  return Buffer.concat(parts);
}
