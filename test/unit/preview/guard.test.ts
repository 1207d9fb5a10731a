import { describe, expect, it } from 'vitest';
import type { Plan, PlanEntry } from '../../../agent/src/plan/types.js';
import { guardPreviewPlan, TAKEOVER, UNMANAGED_CREATE } from '../../../agent/src/preview/guard.js';

const entry = (id: string, action: PlanEntry['action'], extra: Partial<PlanEntry> = {}): PlanEntry => ({
  id,
  ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: id.split('/')[2], name: id.split('/')[3] as string },
  action,
  changes: [],
  wave: 0,
  ...extra,
});

const plan = (entries: PlanEntry[]): Plan => ({
  entries,
  stats: { dryRuns: 0, fromCache: 0, fullVerify: false },
});

describe('the preview guard', () => {
  it('keeps the changes of objects in the ApplySet', () => {
    const mine = entry('/ConfigMap/shop/app', 'update', {
      changes: [{ path: '.data.color', op: 'replace', before: 'blue', after: 'green' } as never],
    });
    expect(guardPreviewPlan(plan([mine]), new Set([mine.id])).entries).toEqual([mine]);
  });

  it('shows an object outside the ApplySet as a take-over, without live values, managers or drift', () => {
    const victim = entry('/ConfigMap/kube-system/target', 'update', {
      changes: [{ path: '.data.password', op: 'replace', before: 'live-secret', after: 'guess' } as never],
      conflicts: [
        { field: '.data.password', manager: 'another-team', message: 'conflict with another-team' },
      ],
      drift: true,
    });
    const [guarded] = guardPreviewPlan(plan([victim]), new Set()).entries;
    expect(guarded).toMatchObject({ id: victim.id, action: TAKEOVER, changes: [] });
    expect(JSON.stringify(guarded)).not.toMatch(/live-secret|another-team|drift/);
    for (const action of ['unchanged', 'conflict', 'replace'] as const) {
      expect(guardPreviewPlan(plan([entry(victim.id, action)]), new Set()).entries[0]?.action).toBe(TAKEOVER);
    }
  });

  it('keeps a create outside the ApplySet a create, and reduces API errors to their reason', () => {
    const created = entry('/ConfigMap/shop/new', 'create', {
      changes: [{ path: '.data', op: 'add', after: { injected: 'by-webhook' } } as never],
    });
    const failed = entry('/ConfigMap/kube-system/x', 'error', {
      error: { reason: 'Invalid', message: 'field is immutable: live value "live-secret"' },
    });
    const [c, e] = guardPreviewPlan(plan([created, failed]), new Set()).entries;
    expect(c).toMatchObject({ action: 'create', changes: [], note: UNMANAGED_CREATE });
    expect(e?.error?.reason).toBe('Invalid');
    expect(JSON.stringify(e)).not.toContain('live-secret');
  });
});
