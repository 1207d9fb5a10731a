// Heartbeats between full reports, against the real hub (HTTP, SQLite): a report that changed only in
// its timestamps goes as a heartbeat and moves last-seen without a history row; a changed report goes
// in full; a hub that does not hold the report a heartbeat names (a fresh database) answers 409 and
// gets the full report under the same seq.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hubSender } from '../../../agent/src/report/hub-client.js';
import type { ReportInput } from '../../../contract/report.js';
import { generateToken } from '../../../hub/src/api/auth.js';
import { type RunningHub, startHub } from '../../../hub/src/hub.js';
import { makeReport, removeDir, tempDir } from '../hub/helpers.js';

// Each hub starts a writer thread: generous limits keep a busy shared machine from failing them.
vi.setConfig({ testTimeout: 60_000 });

const STARTED = '2026-12-01T00:00:00.000Z';

/** The same cluster state at another moment: only the timestamps a reconcile moves differ. */
function reportAt(seq: number, at: Date, phase: 'Synced' | 'Failed' = 'Synced'): ReportInput {
  const report = makeReport('edge-1', seq, { phase });
  const when = at.toISOString();
  report.createdAt = when;
  report.agent = { version: '0.1.0', startedAt: STARTED };
  for (const s of report.sources) {
    s.fetchedAt = when;
    if (s.sync) s.sync.finishedAt = when;
  }
  return report;
}

describe('heartbeats between full reports', () => {
  const hubs: RunningHub[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.stop();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  async function hubOn(port: number, token: ReturnType<typeof generateToken>) {
    const dir = tempDir();
    dirs.push(dir);
    const hub = await startHub({
      db: join(dir, 'hub.db'),
      host: '127.0.0.1',
      port,
      logger: pino({ level: 'silent' }),
      settings: { publicRead: true },
    });
    hubs.push(hub);
    await hub.store.createToken(token.record);
    return hub;
  }

  async function heartbeatCounts(hub: RunningHub): Promise<Record<string, number>> {
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^strata_hub_heartbeats_total\{result="([^"]+)"\} (\d+)$/gm))
      counts[m[1]!] = Number(m[2]);
    return counts;
  }

  it('sends a heartbeat when only time moved, a full report when something changed', async () => {
    const token = generateToken('edge-1', new Date());
    const hub = await hubOn(0, token);
    const tokenFile = join(dirs[0]!, 'token');
    writeFileSync(tokenFile, token.token);
    let clock = Date.UTC(2026, 11, 2, 0, 0);
    const send = hubSender({ url: hub.url, tokenFile, timeout: 30_000 }, () => clock);

    expect(await send(reportAt(100, new Date(clock)))).toEqual({ ok: true });
    const fullAt = (await hub.store.getCluster('edge-1'))!.record.receivedAt;
    await new Promise((r) => setTimeout(r, 20));
    clock += 30_000;
    expect(await send(reportAt(101, new Date(clock)))).toEqual({ ok: true });
    clock += 30_000;
    expect(await send(reportAt(102, new Date(clock)))).toEqual({ ok: true });
    expect(await heartbeatCounts(hub)).toEqual({ alive: 2 });
    const cluster = await hub.store.getCluster('edge-1');
    expect(cluster?.record.seq).toBe(100);
    expect((await hub.store.history('edge-1', 50)).map((h) => h.seq)).toEqual([100]);
    // Last-seen is the last heartbeat's receipt, in the API too.
    expect(cluster!.record.receivedAt).toBeGreaterThanOrEqual(fullAt + 20);
    const seen = (await (await fetch(`${hub.url}/api/v1/clusters/edge-1`)).json()) as {
      cluster: { lastSeen: string };
    };
    expect(Date.parse(seen.cluster.lastSeen)).toBe(cluster!.record.receivedAt);

    clock += 30_000;
    expect(await send(reportAt(103, new Date(clock), 'Failed'))).toEqual({ ok: true });
    expect((await hub.store.getCluster('edge-1'))?.record).toMatchObject({
      seq: 103,
      summary: { phase: 'Failed' },
    });
    clock += 30_000;
    expect(await send(reportAt(104, new Date(clock), 'Failed'))).toEqual({ ok: true });
    expect((await hub.store.history('edge-1', 50)).map((h) => h.seq)).toEqual([103, 100]);
    // Counters are cumulative: one more heartbeat, now standing for report 103.
    expect(await heartbeatCounts(hub)).toEqual({ alive: 3 });
  });

  it('sends a full report at least every fullReportEvery, and never a heartbeat when it is 0', async () => {
    const token = generateToken('edge-1', new Date());
    const hub = await hubOn(0, token);
    const tokenFile = join(dirs[0]!, 'token');
    writeFileSync(tokenFile, token.token);
    let clock = Date.UTC(2026, 11, 2, 0, 0);
    const send = hubSender(
      { url: hub.url, tokenFile, timeout: 30_000, fullReportEvery: 60_000 },
      () => clock,
    );
    for (let seq = 1; seq <= 5; seq++) {
      expect(await send(reportAt(seq, new Date(clock)))).toEqual({ ok: true });
      clock += 25_000;
    }
    // Full at 0 s and 75 s (the first report 60 s after the last full one), heartbeats between.
    expect((await hub.store.history('edge-1', 50)).map((h) => h.seq)).toEqual([4, 1]);
    const always = hubSender({ url: hub.url, tokenFile, timeout: 30_000, fullReportEvery: 0 }, () => clock);
    for (let seq = 6; seq <= 7; seq++)
      expect(await always(reportAt(seq, new Date(clock)))).toEqual({ ok: true });
    expect((await hub.store.history('edge-1', 50)).map((h) => h.seq)).toEqual([7, 6, 4, 1]);
  });

  it('answers a heartbeat whose full report the hub lacks with 409, and the agent sends it in full', async () => {
    const token = generateToken('edge-1', new Date());
    const first = await hubOn(0, token);
    const port = Number(new URL(first.url).port);
    const tokenFile = join(dirs[0]!, 'token');
    writeFileSync(tokenFile, token.token);
    let clock = Date.UTC(2026, 11, 2, 0, 0);
    const send = hubSender({ url: first.url, tokenFile, timeout: 30_000 }, () => clock);
    expect(await send(reportAt(100, new Date(clock)))).toEqual({ ok: true });
    clock += 30_000;
    expect(await send(reportAt(101, new Date(clock)))).toEqual({ ok: true });

    // The hub comes back on an empty database (lost, or restored from before report 100).
    await hubs.shift()!.stop();
    const second = await hubOn(port, token);
    clock += 30_000;
    expect(await send(reportAt(102, new Date(clock)))).toEqual({ ok: true });
    expect(await heartbeatCounts(second)).toEqual({ 'full-report-needed': 1 });
    expect((await second.store.getCluster('edge-1'))?.record.seq).toBe(102);
    clock += 30_000;
    expect(await send(reportAt(103, new Date(clock)))).toEqual({ ok: true });
    expect(await heartbeatCounts(second)).toEqual({ 'full-report-needed': 1, alive: 1 });
  });

  it('refuses a malformed heartbeat and one for another cluster', async () => {
    const token = generateToken('edge-1', new Date());
    const hub = await hubOn(0, token);
    const post = (body: unknown) =>
      fetch(`${hub.url}/api/v1/heartbeats`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await post({ cluster: 'edge-1', seq: 5, of: 5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('seq: seq must be greater than of');
    expect((await post({ cluster: 'edge-1', seq: 6, of: 5, extra: 1 })).status).toBe(400);
    expect((await post({ cluster: 'prod-hz', seq: 6, of: 5 })).status).toBe(403);
    const missing = await post({ cluster: 'edge-1', seq: 6, of: 5 });
    expect(missing.status).toBe(409);
    expect(await missing.json()).toMatchObject({ result: 'full-report-needed', latestSeq: null });
  });
});
