import { describe, expect, it } from 'vitest';
import { describeIssues, parseReport, reportJsonSchema } from '../../../contract/report.js';
import { makeReport } from './helpers.js';

describe('report schema', () => {
  it('accepts a report as an agent writes it and fills defaults', () => {
    const input = makeReport('prod-hz', 1) as Record<string, unknown>;
    delete input.previews;
    const parsed = parseReport(input);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.report.previews).toEqual([]);
  });

  it('names every offending field by its path', () => {
    const input = makeReport('Prod_HZ', -1) as unknown as {
      sources: { health: { objects: { status: string }[] } }[];
    };
    input.sources[0]!.health.objects[1]!.status = 'Fine';
    const parsed = parseReport(input);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => i.path).sort()).toEqual([
      'cluster',
      'seq',
      'sources[0].health.objects[1].status',
    ]);
    expect(describeIssues(parsed.issues)).toMatch(
      /sources\[0\]\.health\.objects\[1\]\.status: Invalid option/,
    );
  });

  it('keeps preview plans loose: extra fields in entries and plan survive', () => {
    const input = {
      ...makeReport('prod-hz', 1),
      previews: [
        {
          ref: 'refs/pull/7/head',
          commit: 'def4567',
          state: 'open',
          plan: {
            entries: [
              { id: 'apps/Deployment/shop/web', action: 'update', diff: [{ path: '/spec/replicas' }] },
            ],
            counts: { update: 1 },
          },
        },
      ],
    };
    const parsed = parseReport(input);
    expect(parsed.ok && parsed.report.previews[0]!.plan).toEqual(input.previews[0]!.plan);
  });

  it('exports a JSON Schema that names the required top-level fields', () => {
    const schema = reportJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(expect.arrayContaining(['cluster', 'labels', 'seq', 'agent', 'sources']));
    expect(Object.keys(schema.properties)).toContain('previews');
  });
});
