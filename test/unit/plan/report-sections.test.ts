import { describe, expect, it } from 'vitest';
import { reportSections } from '../../../agent/src/sync/report.js';
import type { SyncResult } from '../../../agent/src/sync/types.js';
import { parseReport } from '../../../contract/report.js';

const result: SyncResult = {
  phase: 'Failed',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:05.000Z',
  plan: { entries: [], stats: { dryRuns: 0, fromCache: 0, fullVerify: false } },
  applied: [],
  pruned: [],
  pruneRefused: 'pruning 3 of 4 members (75%) exceeds the limit of 50%; allow it explicitly to proceed',
  counts: { created: 2, updated: 1, replaced: 1, pruned: 0, kept: 0, unchanged: 7, failed: 1 },
  conflicts: [
    {
      id: 'apps/Deployment/shop/web',
      field: '.spec.replicas',
      manager: 'hpa',
      message: 'conflict with "hpa"',
    },
  ],
  errors: [{ id: '/ConfigMap/shop/big', reason: 'Invalid', message: 'x'.repeat(10_000) }],
  drift: [{ id: '/ConfigMap/shop/a', fields: ['.data.color'], action: 'corrected' }],
  health: {
    status: 'Progressing',
    objects: [{ id: 'apps/Deployment/shop/web', status: 'InProgress', message: 'updated replicas: 1/3' }],
  },
  stats: { requests: 12, dryRuns: 3, fromCache: 7, fullVerify: false },
};

describe('reportSections', () => {
  it('maps a sync result onto the report schema, which accepts it', () => {
    const { sync, health, drift } = reportSections(result, 'abc123');
    expect(sync).toMatchObject({
      phase: 'Failed',
      commit: 'abc123',
      created: 2,
      updated: 2,
      pruned: 0,
      unchanged: 7,
    });
    expect(sync.conflicts).toEqual([
      {
        object: 'apps/Deployment/shop/web',
        field: '.spec.replicas',
        manager: 'hpa',
        message: 'conflict with "hpa"',
      },
    ]);
    expect(sync.errors.map((e) => e.reason)).toEqual(['Invalid', 'PruneRefused']);
    expect(drift).toEqual([
      {
        id: '/ConfigMap/shop/a',
        fields: ['.data.color'],
        action: 'corrected',
        detectedAt: result.finishedAt,
      },
    ]);
    const parsed = parseReport({
      cluster: 'prod-hz',
      labels: {},
      seq: 1,
      agent: { version: '0.1.0', startedAt: result.startedAt },
      sources: [
        {
          url: 'https://git.example/fleet',
          ref: 'main',
          commit: 'abc123',
          fetchedAt: result.startedAt,
          reachable: true,
          error: null,
          sync,
          health,
          drift,
        },
      ],
    });
    expect(parsed.ok ? 'ok' : parsed.issues).toBe('ok');
  });

  it('cuts apiserver messages to the length the report allows', () => {
    const { sync } = reportSections(result, 'abc123');
    expect(sync.errors[0]!.message.length).toBeLessThanOrEqual(4000);
  });
});
