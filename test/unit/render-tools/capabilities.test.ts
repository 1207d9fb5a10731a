import { describe, expect, it } from 'vitest';
import { cachedCapabilities } from '../../../agent/src/render-tools/capabilities.js';

describe('cluster capabilities for helm template', () => {
  it('asks the API server at most every five minutes, and keeps the last answer when asking fails', async () => {
    let now = 0;
    let asked = 0;
    let fail = false;
    const caps = cachedCapabilities(
      async () => {
        asked++;
        if (fail) throw new Error('apiserver down');
        return { kubeVersion: `v1.3${asked}.0`, apiVersions: ['v1'] };
      },
      () => now,
    );
    expect(await caps()).toEqual({ kubeVersion: 'v1.31.0', apiVersions: ['v1'] });
    now += 60_000;
    expect(await caps()).toEqual({ kubeVersion: 'v1.31.0', apiVersions: ['v1'] });
    expect(asked).toBe(1);
    now += 5 * 60_000;
    expect((await caps()).kubeVersion).toBe('v1.32.0');
    fail = true;
    now += 5 * 60_000;
    expect((await caps()).kubeVersion).toBe('v1.32.0');
    expect(asked).toBe(3);
  });

  it("gives helm's defaults until the first answer", async () => {
    const caps = cachedCapabilities(async () => {
      throw new Error('no server');
    });
    expect(await caps()).toEqual({});
  });
});
