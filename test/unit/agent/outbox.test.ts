import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Delivery } from '../../../agent/src/report/delivery.js';
import { hubSender } from '../../../agent/src/report/hub-client.js';
import { Outbox } from '../../../agent/src/report/outbox.js';
import { parseReport, type ReportInput } from '../../../contract/report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-outbox-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const silent = pino({ level: 'silent' });

function report(seq: number, note = 'main'): ReportInput {
  return {
    cluster: 'edge-1',
    labels: { region: 'hz' },
    seq,
    agent: { version: '0.1.0', startedAt: '2026-01-01T00:00:00Z' },
    sources: [
      {
        url: 'https://g/fleet.git',
        ref: note,
        commit: null,
        fetchedAt: null,
        reachable: true,
        error: null,
        sync: null,
        health: null,
      },
    ],
  };
}

/** A real HTTP receiver on loopback that records what it accepts. */
async function receiver(answer: (body: ReportInput) => number = () => 200) {
  const got: ReportInput[] = [];
  const auth: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as ReportInput;
      const status = answer(parsed);
      if (status === 200) got.push(parsed);
      auth.push(req.headers.authorization);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    auth,
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('outbox', () => {
  it('allocates monotonic seq numbers that survive reopening the file', () => {
    const file = path.join(dir, 'seq.db');
    const before = Date.now();
    const a = Outbox.open(file, { maxReports: 100 });
    const first = a.enqueue('k', (s) => report(s));
    // A fresh outbox starts at the clock, above what a lost earlier state directory may have sent.
    expect(first).toBeGreaterThan(before);
    expect(a.enqueue('k', (s) => report(s))).toBe(first + 1);
    a.ack(first);
    a.ack(first + 1);
    a.close();
    const b = Outbox.open(file, { maxReports: 100 });
    expect(b.enqueue('k', (s) => report(s))).toBe(first + 2);
    expect(b.list().map((e) => e.report.seq)).toEqual([first + 2]);
    b.close();
  });

  it('folds the oldest reports into newer ones of the same key, counting every folded report', () => {
    const box = Outbox.open(path.join(dir, 'fold.db'), { maxReports: 5 });
    for (let i = 0; i < 12; i++) box.enqueue('snapshot', (s) => report(s, `r${i}`));
    const pending = box.list();
    expect(pending).toHaveLength(5);
    const seqs = pending.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(pending.at(-1)?.report.sources[0]?.ref).toBe('r11');
    const represented = pending.reduce((n, e) => n + 1 + (e.report.compacted ?? 0), 0);
    expect(represented).toBe(12);
    expect(box.stats()).toMatchObject({ pending: 5, folded: 7, lastSeq: pending.at(-1)?.seq as number });
    expect((pending.at(-1)?.seq as number) - (pending[0]?.seq as number)).toBe(4);
    for (const e of pending) expect(parseReport(e.report).ok).toBe(true);
    box.close();
  });

  it('never folds the newest report of a key', () => {
    const box = Outbox.open(path.join(dir, 'keys.db'), { maxReports: 2 });
    box.enqueue('a', (s) => report(s, 'a1'));
    box.enqueue('b', (s) => report(s, 'b1'));
    box.enqueue('b', (s) => report(s, 'b2'));
    box.enqueue('b', (s) => report(s, 'b3'));
    expect(box.list().map((e) => e.report.sources[0]?.ref)).toEqual(['a1', 'b3']);
    expect(box.list()[1]?.report.compacted).toBe(2);
    box.close();
  });

  it('keeps every committed report when the writing process is SIGKILLed', async () => {
    const file = path.join(dir, 'crash.db');
    const script = path.join(dir, 'writer.ts');
    const outboxModule = path.resolve('agent/src/report/outbox.ts');
    await writeFile(
      script,
      `import { Outbox } from ${JSON.stringify(outboxModule)};
const box = Outbox.open(${JSON.stringify(file)}, { maxReports: 100000 });
for (let i = 0; ; i++) {
  const seq = box.enqueue('k', (s) => ({ cluster: 'c', labels: {}, seq: s, agent: { version: 'x', startedAt: '2026-01-01T00:00:00Z' }, sources: [] }));
  process.stdout.write(seq + '\\n');
}
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 200) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const acknowledged = out
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    const box = Outbox.open(file, { maxReports: 100000 });
    const stored = new Set(box.list().map((e) => e.seq));
    for (const seq of acknowledged) expect(stored.has(seq)).toBe(true);
    const next = box.enqueue('k', (s) => report(s));
    expect(next).toBeGreaterThan(Math.max(...acknowledged));
    box.close();
  });
});

describe('delivery to a real HTTP receiver', () => {
  it('delivers everything in seq order once the receiver comes up, with the bearer token', async () => {
    const tokenFile = path.join(dir, 'hub-token');
    await writeFile(tokenFile, 'hub-token-1\n');
    const rx = await receiver();
    const port = rx.port;
    await rx.close();
    const box = Outbox.open(path.join(dir, 'deliver.db'), { maxReports: 1000 });
    const delivery = new Delivery({
      outbox: box,
      send: hubSender({ url: `http://127.0.0.1:${port}`, tokenFile, timeout: 2000 }),
      minBackoffMs: 20,
      maxBackoffMs: 100,
      log: silent,
    });
    delivery.start();
    const written: number[] = [];
    for (let i = 0; i < 10; i++) {
      written.push(box.enqueue('k', (s) => report(s)));
      delivery.kick();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(box.stats().pending).toBe(10);
    expect(delivery.error).toMatch(/hub unreachable/);

    const back = http.createServer();
    const got: number[] = [];
    back.on('request', (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got.push((JSON.parse(body) as ReportInput).seq);
        expect(req.headers.authorization).toBe('Bearer hub-token-1');
        res.end('{}');
      });
    });
    await new Promise<void>((r) => back.listen(port, '127.0.0.1', r));
    try {
      const deadline = Date.now() + 5000;
      while (box.stats().pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got).toEqual(written);
      expect(written).toEqual(Array.from({ length: 10 }, (_, i) => (written[0] as number) + i));
      expect(box.stats().pending).toBe(0);
    } finally {
      await delivery.stop();
      box.close();
      await new Promise<void>((r) => back.close(() => r()));
    }
  });

  it('sets aside a report the hub refuses for good and delivers the next ones', async () => {
    let refused = 0;
    const rx = await receiver((r) => (r.seq === refused ? 400 : 200));
    const box = Outbox.open(path.join(dir, 'reject.db'), { maxReports: 1000 });
    const seqs = [0, 1, 2].map(() => box.enqueue('k', (s) => report(s)));
    refused = seqs[1] as number;
    const delivery = new Delivery({
      outbox: box,
      send: hubSender({ url: rx.url, timeout: 2000 }),
      minBackoffMs: 10,
      maxBackoffMs: 50,
      log: silent,
    });
    expect(await delivery.flush(5000)).toBe(true);
    expect(rx.got.map((r) => r.seq)).toEqual([seqs[0], seqs[2]]);
    expect(box.stats()).toMatchObject({ pending: 0, rejected: 1 });
    box.close();
    await rx.close();
  });
});
