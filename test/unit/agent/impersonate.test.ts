import { describe, expect, it } from 'vitest';
import { validate } from '../../../agent/src/config/load.js';
import { impersonating, serviceAccountUser } from '../../../agent/src/kube/impersonate.js';

const base = {
  cluster: { name: 'edge-1' },
  sources: [{ url: 'https://git.example.com/fleet.git' }],
};

describe('preview impersonation', () => {
  it('names the ServiceAccount as the apiserver knows it, and refuses anything else', () => {
    expect(serviceAccountUser('strata-system/previewer')).toBe(
      'system:serviceaccount:strata-system:previewer',
    );
    for (const bad of ['previewer', 'a/b/c', 'Strata/x', 'ns/', '/x', 'ns/x:y'])
      expect(() => serviceAccountUser(bad)).toThrow(`'${bad}' is not a ServiceAccount reference`);
  });

  it('adds Impersonate-User to every request and keeps the credentials', async () => {
    const access = impersonating(
      {
        server: 'https://127.0.0.1:6443',
        context: 'lab',
        requestOptions: async () => ({ tls: {}, headers: { Authorization: 'Bearer t' } }),
      },
      'system:serviceaccount:ns:p',
    );
    expect(await access.requestOptions()).toEqual({
      tls: {},
      headers: { Authorization: 'Bearer t', 'Impersonate-User': 'system:serviceaccount:ns:p' },
    });
  });

  it('accepts kube.previewServiceAccount as namespace/name only', () => {
    expect(
      validate({ ...base, kube: { previewServiceAccount: 'strata-system/previewer' } }).kube,
    ).toMatchObject({
      previewServiceAccount: 'strata-system/previewer',
    });
    expect(() => validate({ ...base, kube: { previewServiceAccount: 'previewer' } })).toThrow(
      /kube\.previewServiceAccount.*namespace\/name/s,
    );
  });
});
