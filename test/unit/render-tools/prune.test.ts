// The render cache and the chart store in the state directory stay bounded: files unused past the
// age limit go, then the least recently used until the size limit holds; a use keeps a file; a
// pruned chart's index entry goes with it, so the store fetches it again instead of failing.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRenderCache } from '../../../agent/src/render-tools/cache.js';
import { createChartStore } from '../../../agent/src/render-tools/charts.js';
import { pruneFolder } from '../../../agent/src/render-tools/prune.js';

const DAY = 24 * 3600_000;
const work = () => mkdtempSync(join(tmpdir(), 'strata-prune-'));
const age = (file: string, ms: number, now: number) => {
  const at = new Date(now - ms);
  utimesSync(file, at, at);
};

describe('pruneFolder', () => {
  it('removes files unused past the age, then the least recently used past the size, and stale .tmp', async () => {
    const dir = work();
    const now = Date.now();
    const files: Record<string, [size: number, agoMs: number]> = {
      'old.out': [10, 20 * DAY],
      'a.out': [40, 3 * DAY],
      'b.out': [40, 2 * DAY],
      'c.out': [40, 1 * DAY],
      'half.out.123.tmp': [5, 2 * 3600_000],
      'fresh.out.456.tmp': [5, 60_000],
      'other.txt': [1000, 90 * DAY],
    };
    for (const [name, [size, ago]] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x'.repeat(size));
      age(join(dir, name), ago, now);
    }
    const removed = await pruneFolder(dir, '.out', { maxAgeMs: 14 * DAY, maxBytes: 90 }, now);
    expect(removed.sort()).toEqual(['a.out', 'half.out.123.tmp', 'old.out']);
    expect(readdirSync(dir).sort()).toEqual(['b.out', 'c.out', 'fresh.out.456.tmp', 'other.txt']);
    expect(await pruneFolder(join(dir, 'missing'), '.out', { maxAgeMs: 1, maxBytes: 1 }, now)).toEqual([]);
  });
});

describe('the render cache folder', () => {
  it('stays under its size, keeping what was used last, and still serves what it kept', async () => {
    const dir = work();
    let clock = Date.now();
    const cache = createRenderCache(dir, { maxAgeMs: 14 * DAY, maxBytes: 3000 }, () => clock);
    for (let i = 0; i < 3; i++) {
      await cache.set(`k${i}`, `${i}`.repeat(1000));
      age(join(dir, `k${i}.out`), (3 - i) * 60_000, clock);
    }
    // A later write, past the pruning interval, prunes: k0 (least recently used) goes.
    clock += 11 * 60_000;
    await cache.set('k3', '3'.repeat(1000));
    expect(readdirSync(dir).sort()).toEqual(['k1.out', 'k2.out', 'k3.out']);
    const restarted = createRenderCache(dir, { maxAgeMs: 14 * DAY, maxBytes: 3000 }, () => clock);
    expect(await restarted.get('k0')).toBeUndefined();
    expect(await restarted.get('k1')).toBe('1'.repeat(1000));
  });

  it('counts a read as use: an output read within the age limit survives, an unread one goes', async () => {
    const dir = work();
    let clock = Date.now();
    const limits = { maxAgeMs: 14 * DAY, maxBytes: 1024 ** 2 };
    const writer = createRenderCache(dir, limits, () => clock);
    await writer.set('read', 'r');
    await writer.set('unread', 'u');
    for (const name of ['read.out', 'unread.out']) age(join(dir, name), 13 * DAY, clock);
    const reader = createRenderCache(dir, limits, () => clock);
    expect(await reader.get('read')).toBe('r');
    await new Promise((r) => setTimeout(r, 50)); // the touch is not awaited by get
    clock += 2 * DAY;
    await reader.set('new', 'n');
    expect(readdirSync(dir).sort()).toEqual(['new.out', 'read.out']);
  });
});

describe('the chart store folder', () => {
  it('drops a chart unused for a month with its index entry, so a later render fetches it again', async () => {
    const dir = work();
    mkdirSync(dir, { recursive: true });
    const bytes = Buffer.from('a chart archive');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const archive = join(dir, `${digest.replace(':', '-')}.tgz`);
    writeFileSync(archive, bytes);
    // Nothing listens on port 9: a fetch that needs the network fails, one from the folder does not.
    const chart = { type: 'repo' as const, url: 'http://127.0.0.1:9/charts', name: 'web', version: '1.0.0' };
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ 'http://127.0.0.1:9/charts web 1.0.0': digest }));
    let clock = Date.now();
    const store = createChartStore({ dir, timeoutMs: 2000, now: () => clock });
    expect(await store.fetch(chart)).toMatchObject({ ok: true, archive: { digest } });
    expect(store.stats.downloads).toBe(0);
    // A month and a day without a use (and past the pruning interval): the next fetch prunes it first.
    clock += 31 * DAY;
    const later = await store.fetch(chart);
    expect(later).toMatchObject({ ok: false, reason: 'SourceUnavailable' });
    expect(existsSync(archive)).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))).toEqual({});
    expect(store.stats.downloads).toBe(1);
  });
});
