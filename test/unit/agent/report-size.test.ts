// Reports sized to the hub's body limit: a report too large is trimmed, oldest preview plans
// first, with counts of what was left out and a mark the hub shows; a 413 from the real hub is
// answered by shrinking and sending again, never by setting the report aside.
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Delivery } from '../../../agent/src/report/delivery.js';
import { fitReport, reportBytes } from '../../../agent/src/report/fit.js';
import { hubSender } from '../../../agent/src/report/hub-client.js';
import { Outbox } from '../../../agent/src/report/outbox.js';
import { parseReport, type ReportInput } from '../../../contract/report.js';
import { makeReport, removeDir, startTestHub, type TestHub } from '../hub/helpers.js';

const silent = pino({ level: 'silent' });

/** A report with `refs` open PR previews of `entries` objects each, every entry with a large before/after. */
function bigReport(seq: number, refs: number, entries: number): ReportInput {
  const report = makeReport('edge-1', seq, { objects: 300 });
  report.previews = Array.from({ length: refs }, (_, r) => ({
    ref: `refs/pull/${r}/head`,
    commit: 'c'.repeat(40),
    state: 'open' as const,
    plannedAt: new Date(Date.UTC(2026, 0, 1, 0, r)).toISOString(),
    plan: {
      entries: Array.from({ length: entries }, (_, i) => ({
        id: `/ConfigMap/pr-${r}/cm-${i}`,
        action: 'update',
        before: { data: { v: 'b'.repeat(400) } },
        after: { data: { v: 'a'.repeat(400) } },
      })),
    },
  }));
  return report;
}

describe('fitting a report under a limit', () => {
  it('returns a report that fits as it is', () => {
    const report = bigReport(1, 1, 5);
    expect(fitReport(report, 10 * 1024 * 1024)).toBe(report);
  });

  it('drops the oldest preview plans first and counts what it left out', () => {
    const report = bigReport(1, 3, 200);
    const limit = reportBytes(report) - 100_000;
    const fitted = fitReport(report, limit) as ReportInput & {
      truncated?: { omitted: Record<string, number> };
    };
    expect(reportBytes(fitted)).toBeLessThanOrEqual(limit);
    expect(fitted.truncated?.omitted).toEqual({ previewEntries: 200 });
    expect(fitted.previews?.map((p) => p.plan?.entries.length)).toEqual([0, 200, 200]);
    expect(fitted.sources[0]?.health?.objects).toHaveLength(300);
    expect(parseReport(fitted).ok).toBe(true);
    // The report in the outbox is left whole: trimming works on a copy.
    expect(report.previews?.[0]?.plan?.entries).toHaveLength(200);
  });

  it('trims per-source sections once the previews are gone, keeping phase, commit and the first error', () => {
    const report = bigReport(1, 2, 50);
    const source = report.sources[0]!;
    source.sync!.phase = 'Failed';
    source.sync!.errors = Array.from({ length: 500 }, (_, i) => ({
      message: `error ${i} ${'x'.repeat(200)}`,
    }));
    const fitted = fitReport(report, 20_000) as ReportInput & {
      truncated?: { omitted: Record<string, number> };
    };
    expect(reportBytes(fitted)).toBeLessThanOrEqual(20_000);
    expect(fitted.sources[0]?.sync).toMatchObject({ phase: 'Failed', commit: source.sync!.commit });
    expect(fitted.sources[0]?.sync?.errors).toEqual([source.sync!.errors[0]]);
    expect(fitted.truncated?.omitted).toMatchObject({
      previewEntries: 100,
      previews: 2,
      errors: 499,
      healthObjects: 300,
    });
    expect(parseReport(fitted).ok).toBe(true);
  });
});

describe('a hub whose body limit is below the report', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ settings: { bodyLimit: 256 * 1024 } });
  });
  afterAll(async () => {
    await hub.close();
    removeDir(hub.dir);
  });

  it('answers 413, and the agent shrinks the report and delivers it: nothing set aside', async () => {
    const { token } = await hub.token('edge-1');
    const tokenFile = path.join(hub.dir, 'token');
    await import('node:fs/promises').then((fs) => fs.writeFile(tokenFile, token));
    const box = Outbox.open(path.join(hub.dir, 'outbox.db'), { maxReports: 100 });
    const seqs = [0, 1, 2].map(() => box.enqueue('snapshot', (s) => bigReport(s, 4, 300)));
    expect(reportBytes(box.peek()!.report)).toBeGreaterThan(256 * 1024);
    const delivery = new Delivery({
      outbox: box,
      send: hubSender({ url: hub.url, tokenFile, timeout: 5000 }),
      minBackoffMs: 10,
      maxBackoffMs: 50,
      log: silent,
    });
    try {
      expect(await delivery.flush(10_000)).toBe(true);
      expect(box.stats()).toMatchObject({ pending: 0, rejected: 0 });
      const detail = (await (await hub.get('/api/v1/clusters/edge-1')).json()) as {
        report: ReportInput & { truncated?: { omitted: Record<string, number> } };
      };
      expect(detail.report.seq).toBe(seqs[2]);
      expect(detail.report.truncated?.omitted.previewEntries).toBeGreaterThan(0);
      const page = await (await hub.get('/clusters/edge-1')).text();
      expect(page).toMatch(/Truncated.*report trimmed to \d+ bytes: \d+ preview entries/s);
    } finally {
      box.close();
    }
  });
});
