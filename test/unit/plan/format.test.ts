import { describe, expect, it } from 'vitest';
import { formatPlan, hasChanges, palette, wantsColour } from '../../../agent/src/plan/format.js';
import type { Plan } from '../../../agent/src/plan/types.js';

const plan: Plan = {
  entries: [
    {
      id: '/ConfigMap/shop/a',
      ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'shop' },
      action: 'update',
      wave: 0,
      drift: true,
      changes: [{ path: '.data.color', op: 'replace', before: 'blue', after: 'green' }],
    },
    {
      id: '/Secret/shop/s',
      ref: { apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'shop' },
      action: 'update',
      wave: 0,
      changes: [{ path: '.data.password', op: 'replace', redacted: true }],
    },
    {
      id: 'apps/Deployment/shop/web',
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
      action: 'conflict',
      wave: 0,
      changes: [{ path: '.spec.replicas', op: 'replace', before: 3, after: 5 }],
      conflicts: [{ field: '.spec.replicas', manager: 'hpa', message: '' }],
    },
    {
      id: '/ConfigMap/shop/new',
      ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'new', namespace: 'shop' },
      action: 'create',
      wave: 0,
      changes: [],
    },
    {
      id: '/ConfigMap/shop/old',
      ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'old', namespace: 'shop' },
      action: 'delete',
      wave: 0,
      changes: [],
    },
    {
      id: 'x.io/Thing//t',
      ref: { apiVersion: 'x.io/v1', kind: 'Thing', name: 't' },
      action: 'error',
      wave: 0,
      changes: [],
      error: { reason: 'KindNotServed', message: 'the cluster does not serve Thing in x.io/v1' },
    },
    {
      id: '/ConfigMap/shop/same',
      ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'same', namespace: 'shop' },
      action: 'unchanged',
      wave: 0,
      changes: [],
    },
  ],
  stats: { dryRuns: 6, fromCache: 0, fullVerify: true },
};

describe('plan output', () => {
  it('prints every change with its fields, errors first, unchanged objects counted, and a summary', () => {
    const text = formatPlan('Cluster prod-hz', plan, palette(false));
    expect(text).toBe(
      [
        'Cluster prod-hz',
        '  x error     x.io/Thing//t',
        '        KindNotServed: the cluster does not serve Thing in x.io/v1',
        '  ! conflict  apps/Deployment/shop/web',
        '        .spec.replicas: 3 → 5',
        '        .spec.replicas owned by "hpa"',
        '  + create    /ConfigMap/shop/new',
        '  ~ update    /ConfigMap/shop/a  (drift: changed in the cluster since Strata applied it)',
        '        .data.color: "blue" → "green"',
        '  ~ update    /Secret/shop/s',
        '        .data.password: (secret value changed)',
        '  - delete    /ConfigMap/shop/old',
        '  1 object(s) unchanged',
        'Plan: 1 to create, 3 to update, 1 to delete, 1 unchanged, 1 with conflicts, 1 with errors.',
        '',
      ].join('\n'),
    );
  });

  it('colours only when asked', () => {
    expect(formatPlan('t', plan, palette(true))).toContain('\u001b[32m');
    expect(formatPlan('t', plan, palette(false))).not.toContain('\u001b[');
  });

  it('colours a terminal unless NO_COLOR is set, and never a pipe unless FORCE_COLOR is', () => {
    expect(wantsColour({ isTTY: true }, {})).toBe(true);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour({ isTTY: false }, {})).toBe(false);
    expect(wantsColour({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColour({ isTTY: false }, { FORCE_COLOR: '' })).toBe(false);
  });

  it('says a plan of only unchanged objects has no changes', () => {
    expect(hasChanges(plan)).toBe(true);
    expect(hasChanges({ ...plan, entries: plan.entries.filter((e) => e.action === 'unchanged') })).toBe(
      false,
    );
  });
});
