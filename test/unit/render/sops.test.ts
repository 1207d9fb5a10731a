/**
 * SOPS files made by the real `sops` and `age-keygen` (built from their Go modules), decrypted by
 * render with an age identity; tampering, wrong keys, missing keys and non-Secret kinds fail the
 * render at the file and line; offline previews keep the ciphertext.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderCluster } from '../../../agent/src/render/index.js';
import { parseIdentities, type SopsMode } from '../../../agent/src/render/sops/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { TOOL_BUILD_TIMEOUT_MS, toolPath } from '../../support/tools.js';
import { hz, writeRepo } from './helpers.js';

let work: string;
let identityFile: string;
let recipient: string;
let otherIdentityFile: string;

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
stringData:
  password: hunter2-très-secret
  port: "5432"
data:
  token: c2VjcmV0LXRva2Vu
`;

let plainCount = 0;
function sops(args: string[], input: string): string {
  const plainFile = path.join(work, `plain-${plainCount++}.yaml`);
  writeFileSync(plainFile, input);
  return execFileSync(toolPath('sops'), [...args, plainFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work },
    encoding: 'utf8',
  });
}

function encrypt(plain: string, extra: string[] = ['--encrypted-regex', '^(data|stringData)$']): string {
  return sops(
    ['--encrypt', '--age', recipient, ...extra, '--input-type', 'yaml', '--output-type', 'yaml'],
    plain,
  );
}

function identities(file = identityFile): SopsMode {
  return { identities: parseIdentities(readFileSync(file, 'utf8'), file) };
}

async function render(files: Record<string, string>, mode?: SopsMode) {
  return renderCluster(new FolderTree(writeRepo(files)), hz, mode ? { sops: mode } : {});
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'strata-sops-'));
  identityFile = path.join(work, 'age.key');
  otherIdentityFile = path.join(work, 'other.key');
  execFileSync(toolPath('age-keygen'), ['-o', identityFile], { stdio: 'ignore' });
  execFileSync(toolPath('age-keygen'), ['-o', otherIdentityFile], { stdio: 'ignore' });
  recipient = execFileSync(toolPath('age-keygen'), ['-y', identityFile], { encoding: 'utf8' }).trim();
}, TOOL_BUILD_TIMEOUT_MS);

describe('SOPS-encrypted Secrets', () => {
  it('decrypts values encrypted by the real sops with an age identity', async () => {
    const encrypted = encrypt(SECRET);
    expect(encrypted).not.toContain('hunter2');
    const result = await render({ 'global/db.sops.yaml': encrypted }, identities());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const secret = result.objects[0]?.object as Record<string, unknown>;
    expect(secret.stringData).toEqual({ password: 'hunter2-très-secret', port: '5432' });
    expect(secret.data).toEqual({ token: 'c2VjcmV0LXRva2Vu' });
    expect(secret).not.toHaveProperty('sops');
    expect(parseIdentities(readFileSync(identityFile, 'utf8'), 'k')[0]?.recipient).toBe(recipient);
  });

  it('decrypts a file encrypted whole (kind and metadata too) and several documents under one MAC', async () => {
    const two = `${SECRET}---\n${SECRET.replace('name: db', 'name: cache')}`;
    const result = await render({ 'global/all.yaml': encrypt(two, []) }, identities());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.objects.map((o) => o.id).sort()).toEqual(['/Secret/shop/cache', '/Secret/shop/db']);
  });

  it('fails with a located error when a plain field was edited after encryption (MAC mismatch)', async () => {
    const forged = encrypt(SECRET).replace('namespace: shop', 'namespace: kube-system');
    const result = await render({ 'global/db.yaml': forged }, identities());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors[0];
    expect(error).toMatchObject({ code: 'sops', file: 'global/db.yaml', doc: 0 });
    expect(error?.message).toContain('SOPS MAC mismatch');
    const macLine = forged.split('\n').findIndex((l) => l.trimStart().startsWith('mac:')) + 1;
    expect(error?.line).toBe(macLine);
  });

  it('fails at the value when ciphertexts are swapped between keys', async () => {
    const encrypted = encrypt(SECRET);
    const doc = parseYaml(encrypted) as { stringData: Record<string, string> };
    const swapped = encrypted
      .replace(doc.stringData.password as string, 'SWAP')
      .replace(doc.stringData.port as string, doc.stringData.password as string)
      .replace('SWAP', doc.stringData.port as string);
    const result = await render({ 'global/db.yaml': swapped }, identities());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]?.message).toContain('this value cannot be decrypted');
    const line = swapped.split('\n').findIndex((l) => l.trimStart().startsWith('password:')) + 1;
    expect(result.errors[0]?.line).toBe(line);
  });

  it('names the recipients when the configured identity is not one of them', async () => {
    const result = await render({ 'global/db.yaml': encrypt(SECRET) }, identities(otherIdentityFile));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]?.message).toContain(`is a recipient of this file (${recipient})`);
  });

  it('never applies ciphertext: without a key the file is a render error', async () => {
    const result = await render({ 'global/db.yaml': encrypt(SECRET) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({ code: 'sops', file: 'global/db.yaml' });
    expect(result.errors[0]?.message).toContain('no decryption key is configured');
  });

  it('refuses encrypted kinds other than Secret, whose values would show in diffs', async () => {
    const config = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata:\n  k: v\n';
    const result = await render({ 'global/c.yaml': encrypt(config) }, identities());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]?.message).toContain('only v1 Secrets may be SOPS-encrypted');
  });

  it('keeps ciphertext, without the metadata, in opaque mode (offline previews)', async () => {
    const encrypted = encrypt(SECRET);
    const result = await render({ 'global/db.yaml': encrypted }, 'opaque');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const secret = result.objects[0]?.object as unknown as { stringData: Record<string, string> };
    expect(secret.stringData.password).toMatch(/^ENC\[AES256_GCM,data:/);
    expect(JSON.stringify(result.objects)).not.toContain('hunter2');
    expect(secret).not.toHaveProperty('sops');
  });

  it('rejects an identity file that holds no age identity, naming the line', () => {
    const bad = path.join(work, 'bad.key');
    writeFileSync(bad, '# created: now\nAGE-SECRET-KEY-1NOTAKEY\n');
    expect(() => parseIdentities(readFileSync(bad, 'utf8'), bad)).toThrow(`${bad}:2: not an age identity`);
  });
});
