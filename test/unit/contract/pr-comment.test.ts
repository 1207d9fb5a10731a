import { describe, expect, it } from 'vitest';
import { formatMarkdown } from '../../../agent/src/preview/index.js';
import type { FleetPreview } from '../../../agent/src/preview/types.js';
import { COMMENT_LIMITS } from '../../../contract/limits.js';
import type { PreviewClusterView, PreviewView } from '../../../contract/live-preview.js';
import { previewMarkdown } from '../../../hub/src/api/preview-comment.js';

const FIELDS = 40;
const longValue = 'a'.repeat(500);

function fields(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    path: `.data.k${i}`,
    op: 'replace' as const,
    before: longValue,
    after: 'b|c',
  }));
}

function offline(clusters: number, changes = fields(FIELDS)): FleetPreview {
  return {
    base: { ref: 'main' },
    head: { ref: 'refs/pull/1/head' },
    clusters: Array.from({ length: clusters }, (_, i) => ({
      cluster: { name: `c-${String(i).padStart(4, '0')}`, labels: {} },
      status: 'changed' as const,
      counts: { create: 0, update: 1, delete: 0 },
      errors: [],
      objects: [{ id: '/ConfigMap/x/big', action: 'update' as const, files: ['a.yaml'], changes }],
    })),
  };
}

function live(clusters: number, entry: Record<string, unknown> = {}): PreviewView {
  const views: PreviewClusterView[] = Array.from({ length: clusters }, (_, i) => ({
    name: `c-${String(i).padStart(4, '0')}`,
    labels: {},
    state: 'planned',
    commit: 'abc',
    plannedAt: null,
    receivedAt: null,
    counts: { update: 1 },
    entries: [{ id: '/ConfigMap/x/big', action: 'update', changes: fields(FIELDS), ...entry }],
    error: null,
    renderErrors: [],
  }));
  return {
    ref: 'refs/pull/1/head',
    state: 'open',
    headCommit: 'abc',
    mergedAs: null,
    total: clusters,
    counts: { planned: clusters, failed: 0, stale: 0, notReported: 0, closed: 0 },
    clusters: views,
  };
}

describe('one PR-comment renderer for strata preview and the hub', () => {
  it('cuts field lists and values at the same limits for both', () => {
    const more = `${FIELDS - COMMENT_LIMITS.maxFields} more fields`;
    for (const text of [formatMarkdown(offline(1)), previewMarkdown(live(1))]) {
      expect(text).toContain(more);
      expect(text).toContain(`.data.k${COMMENT_LIMITS.maxFields - 1}\``);
      expect(text).not.toContain(`.data.k${COMMENT_LIMITS.maxFields}\``);
      expect(text).not.toContain('a'.repeat(COMMENT_LIMITS.maxValueChars + 1));
      expect(text).toContain(`${'a'.repeat(COMMENT_LIMITS.maxValueChars - 2)}…`);
    }
  });

  it('keeps both under the size limit, the summary table included, and says what it left out', () => {
    const maxChars = 20_000;
    for (const text of [formatMarkdown(offline(2000), { maxChars }), previewMarkdown(live(2000))]) {
      const limit = text.startsWith('### Strata live') ? COMMENT_LIMITS.maxChars : maxChars;
      expect(text.length).toBeLessThanOrEqual(limit);
      expect(text).toMatch(/\| _… \d+ more clusters_ \|/);
    }
  });

  it('names at most twelve clusters in a section title', () => {
    for (const text of [formatMarkdown(offline(13)), previewMarkdown(live(13))])
      expect(text).toContain('c-0011 and 1 more</b>');
  });

  it('counts the changes an agent left out of its report among the hidden fields', () => {
    const text = previewMarkdown(live(1, { changes: fields(5), moreChanges: 95 }));
    expect(text).toContain('- _… 95 more fields_');
  });

  it('keeps a pipe in a value from splitting the offline table row', () => {
    const text = formatMarkdown(offline(1, fields(1)));
    const row = text.split('\n').find((l) => l.startsWith('| `.data.k0`'))!;
    expect(row.split(/(?<!\\)\|/).length).toBe(5);
  });

  it("shows the hub's live preview per wave: each agent's wave under the planned commit's rules", () => {
    const view = live(4);
    const at = (i: number, wave: PreviewClusterView['wave']) => {
      view.clusters[i]!.wave = wave;
    };
    at(0, { index: 1, name: 'prod' });
    at(1, { index: 0, name: 'canary' });
    at(2, { index: 1, name: 'prod' });
    view.clusters[3]!.state = 'notReported';
    const text = previewMarkdown(view);
    expect(text).toContain(
      [
        '| Wave | Clusters | Members |',
        '|---|--:|---|',
        '| 0 canary | 1 | c-0001 |',
        '| 1 prod | 2 | c-0000, c-0002 |',
        '| not known | 1 | c-0003 |',
      ].join('\n'),
    );
    // No waves reported (the head declares none): no block.
    expect(previewMarkdown(live(2))).not.toContain('| Wave |');
  });
});
