// A damaged outbox file (overwritten header, torn to a third of its size) is moved aside and a new
// outbox takes over, with seqs above every one the damaged file handed out: the agent keeps
// reporting instead of failing at every start.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../agent/src/report/outbox.js';
import type { ReportInput } from '../../../contract/report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-outbox-damaged-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const report = (seq: number) => ({ cluster: 'edge-1', seq }) as unknown as ReportInput;

async function damage(file: string, how: 'header' | 'torn'): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    if (how === 'header') await handle.write(Buffer.alloc(4096, 0x5a), 0, 4096, 0);
    else await handle.truncate(Math.floor((await stat(file)).size / 3));
  } finally {
    await handle.close();
  }
}

describe('a damaged outbox', () => {
  for (const how of ['header', 'torn'] as const) {
    it(`is moved aside and replaced (${how})`, async () => {
      const file = path.join(dir, how, 'outbox.db');
      const first = Outbox.open(file, { maxReports: 100 });
      const seqs = Array.from({ length: 200 }, () => first.enqueue('snapshot', report));
      first.close();
      await damage(file, how);

      const moved: string[] = [];
      const second = Outbox.open(file, { maxReports: 100, onQuarantine: (to) => moved.push(to) });
      try {
        expect(moved).toHaveLength(1);
        expect(existsSync(moved[0] as string)).toBe(true);
        expect(readdirSync(path.dirname(file)).some((f) => f.startsWith('outbox.db.corrupt-'))).toBe(true);
        expect(second.stats().pending).toBe(0);
        const next = second.enqueue('snapshot', report);
        expect(next).toBeGreaterThan(Math.max(...seqs));
        expect(second.peek()?.seq).toBe(next);
      } finally {
        second.close();
      }
    });
  }

  it('opens a healthy outbox as it is', () => {
    const file = path.join(dir, 'healthy', 'outbox.db');
    const first = Outbox.open(file, { maxReports: 100 });
    const seq = first.enqueue('snapshot', report);
    first.close();
    const moved: string[] = [];
    const again = Outbox.open(file, { maxReports: 100, onQuarantine: (to) => moved.push(to) });
    expect(again.peek()?.seq).toBe(seq);
    again.close();
    expect(moved).toEqual([]);
  });
});
