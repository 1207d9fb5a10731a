// `strata preview --hub` reads the fleet from the hub's paged cluster list: every page, not the
// first one only, against a real hub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchHubClusters } from '../../../agent/src/preview/clusters.js';
import { makeReport, removeDir, startTestHub, type TestHub } from '../hub/helpers.js';

let hub: TestHub;
const names = ['c-01', 'c-02', 'c-03', 'c-04', 'c-05', 'c-06', 'c-07'];

beforeAll(async () => {
  hub = await startTestHub();
  for (const [i, name] of names.entries()) {
    const { token } = await hub.token(name);
    const report = makeReport(name, 1, { labels: { env: i % 2 ? 'prod' : 'staging' } });
    expect((await hub.post(token, report)).status).toBe(200);
  }
  await hub.token('never-reported');
});

afterAll(async () => {
  await hub?.stop();
  if (hub) removeDir(hub.dir);
});

describe('fetchHubClusters', () => {
  it('follows continue through every page of the fleet', async () => {
    const pages: string[] = [];
    const counting: typeof fetch = (url, init) => {
      pages.push(String(url));
      return fetch(url, init);
    };
    const { clusters, silent } = await fetchHubClusters(hub.url, undefined, counting, 3);
    expect(clusters.map((c) => c.name).sort()).toEqual(names);
    expect(clusters.find((c) => c.name === 'c-02')?.labels).toEqual({ env: 'prod' });
    expect(silent).toEqual(['never-reported']);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.slice(1).every((u) => new URL(u).searchParams.has('continue'))).toBe(true);
  });

  it('reads one page when the fleet fits in it', async () => {
    const pages: string[] = [];
    const counting: typeof fetch = (url, init) => {
      pages.push(String(url));
      return fetch(url, init);
    };
    const { clusters } = await fetchHubClusters(hub.url, undefined, counting);
    expect(clusters).toHaveLength(names.length);
    expect(pages).toHaveLength(1);
  });
});
