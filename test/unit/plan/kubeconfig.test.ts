import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessFor,
  contextNames,
  findKubeconfig,
  readKubeconfig,
} from '../../../agent/src/kube/kubeconfig.js';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-kubeconfig-'));
  await writeFile(join(dir, 'client.crt'), 'CERT-FROM-FILE');
  await writeFile(join(dir, 'client.key'), 'KEY-FROM-FILE');
  await writeFile(join(dir, 'token'), 'token-from-file\n');
  await writeFile(
    join(dir, 'cred.sh'),
    '#!/bin/sh\necho "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"exec-$EXTRA\\"}}"\n',
  );
  await chmod(join(dir, 'cred.sh'), 0o755);
  file = join(dir, 'config');
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: certs
clusters:
  - name: a
    cluster: { server: "https://127.0.0.1:6443", certificate-authority-data: ${Buffer.from('CA-DATA').toString('base64')} }
  - name: b
    cluster: { server: "https://b.example:443", insecure-skip-tls-verify: true }
users:
  - name: certs
    user: { client-certificate: client.crt, client-key: client.key }
  - name: token
    user: { token: static-token }
  - name: tokenfile
    user: { tokenFile: token }
  - name: exec
    user:
      exec: { apiVersion: client.authentication.k8s.io/v1, command: ./cred.sh, env: [{ name: EXTRA, value: abc }] }
contexts:
  - { name: certs, context: { cluster: a, user: certs } }
  - { name: token, context: { cluster: b, user: token } }
  - { name: tokenfile, context: { cluster: a, user: tokenfile } }
  - { name: exec, context: { cluster: a, user: exec } }
  - { name: broken, context: { cluster: missing, user: token } }
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kubeconfig loading', () => {
  it('uses the current context with inline CA data and client certificate files relative to the kubeconfig', async () => {
    const access = accessFor(readKubeconfig(file));
    expect(access.server).toBe('https://127.0.0.1:6443');
    expect(access.context).toBe('certs');
    const { tls, headers } = await access.requestOptions();
    expect(String(tls.ca)).toBe('CA-DATA');
    expect(String(tls.cert)).toBe('CERT-FROM-FILE');
    expect(String(tls.key)).toBe('KEY-FROM-FILE');
    expect(tls.rejectUnauthorized).toBe(true);
    expect(headers).toEqual({});
  });

  it('sends a static token, a token file (re-read each time) and an exec plugin token as bearer tokens', async () => {
    const kc = readKubeconfig(file);
    const insecure = { allowInsecureSkipTlsVerify: true };
    expect((await accessFor(kc, 'token', insecure).requestOptions()).headers).toEqual({
      Authorization: 'Bearer static-token',
    });
    expect((await accessFor(kc, 'token', insecure).requestOptions()).tls.rejectUnauthorized).toBe(false);
    const fromFile = accessFor(kc, 'tokenfile');
    expect((await fromFile.requestOptions()).headers.Authorization).toBe('Bearer token-from-file');
    await writeFile(join(dir, 'token'), 'rotated\n');
    expect((await fromFile.requestOptions()).headers.Authorization).toBe('Bearer rotated');
    expect((await accessFor(kc, 'exec').requestOptions()).headers.Authorization).toBe('Bearer exec-abc');
  });

  it('refuses insecure-skip-tls-verify unless the operator allows it', () => {
    const kc = readKubeconfig(file);
    expect(() => accessFor(kc, 'token')).toThrow(
      `kubeconfig ${file}: cluster 'b' sets insecure-skip-tls-verify: refused unless the agent runs with --insecure-skip-tls-verify`,
    );
  });

  it("starts exec plugins with PATH, HOME, their own env and the allowlist only, not the agent's environment", async () => {
    const dump = join(dir, 'plugin-env');
    await writeFile(
      join(dir, 'cred.sh'),
      `#!/bin/sh\nenv > ${dump}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'\n`,
    );
    process.env.STRATA_TEST_AGENT_SECRET = 'agent-only-secret';
    process.env.STRATA_TEST_ALLOWED = 'allowed-value';
    try {
      const kc = readKubeconfig(file);
      await accessFor(kc, 'exec', { execEnv: ['STRATA_TEST_ALLOWED'] }).requestOptions();
      const seen = (await readFile(dump, 'utf8')).split('\n');
      expect(seen).toContain('EXTRA=abc');
      expect(seen).toContain('STRATA_TEST_ALLOWED=allowed-value');
      expect(seen.some((l) => l.startsWith('KUBERNETES_EXEC_INFO='))).toBe(true);
      expect(seen.join('\n')).not.toContain('agent-only-secret');
    } finally {
      delete process.env.STRATA_TEST_AGENT_SECRET;
      delete process.env.STRATA_TEST_ALLOWED;
    }
  });

  it('names the file and the problem for a missing context or cluster', () => {
    const kc = readKubeconfig(file);
    expect(() => accessFor(kc, 'nope')).toThrow(`kubeconfig ${file}: no context 'nope'`);
    expect(() => accessFor(kc, 'broken')).toThrow(/cluster 'missing' has no server/);
  });

  it('lists contexts and finds the kubeconfig from KUBECONFIG', () => {
    expect(contextNames(file)).toEqual(['certs', 'token', 'tokenfile', 'exec', 'broken']);
    expect(findKubeconfig(undefined, { KUBECONFIG: `/nonexistent/x:${file}` })).toBe(file);
    expect(findKubeconfig('/explicit', { KUBECONFIG: file })).toBe('/explicit');
  });
});
