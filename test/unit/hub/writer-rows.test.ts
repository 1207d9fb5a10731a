/** The batch encoding the hub uses to hand reports to its SQLite writer thread. */
import { describe, expect, it } from 'vitest';
import { decodeRows, encodeRows, type ReportRow } from '../../../hub/src/store/sqlite-writes.js';

describe('writer row batches', () => {
  it('round-trips every field, including null ones and preview refs holding any character', () => {
    const rows: ReportRow[] = [
      {
        cluster: 'prod-hz',
        seq: 9007199254740991,
        receivedAt: 1764043200000,
        createdAt: '2026-11-25T04:00:00.000Z',
        labels: JSON.stringify({ env: 'prod\u0000x' }),
        summary: '{"phase":"Synced"}',
        report: JSON.stringify({ message: 'a\u0000b\n💥' }),
        previews: [
          { ref: 'refs/pull/7/head\u0000evil', preview: '{"ref":"x"}' },
          { ref: '', preview: '{}' },
        ],
        rollout: '[["a1b2","healthy"]]',
        tokenId: '0123456789abcdef',
        rollouts: JSON.stringify([['a'.repeat(40), 'healthy']]),
      },
      {
        cluster: 'edge-1',
        seq: 0,
        receivedAt: 1,
        createdAt: null,
        labels: '{}',
        summary: '{}',
        report: '{}',
        previews: [],
        rollout: '[]',
        tokenId: null,
        rollouts: '',
      },
    ];
    expect(decodeRows(encodeRows(rows))).toEqual(rows);
    expect(decodeRows(encodeRows([]))).toEqual([]);
    expect(() => decodeRows(`${encodeRows(rows)}\u0000extra`)).toThrow(/malformed row batch/);
  });
});
