/**
 * The compiled report check (hub/src/api/report-check.ts) against zod, the authority: over valid
 * reports and thousands of mutations of them, whatever the fast check accepts zod accepts with the
 * same output (and the JSON text it derives from the body parses to that output), and the combined
 * parser answers exactly what zod answers.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseReport, Report, type ReportInput } from '../../../contract/report.js';
import { compileCheck, fastCheckReport, parseReportFast } from '../../../hub/src/api/report-check.js';
import { makeReport } from './helpers.js';

const NOW = '2026-11-25T04:00:00.000Z';

/** Valid reports that between them use every field of the schema. */
function validReports(): ReportInput[] {
  const plain = makeReport('prod-hz', 7, { objects: 3 });
  const full = makeReport('prod-sh', 9, { phase: 'Failed', health: 'Degraded', message: 'crash looping' });
  const source = full.sources[0]!;
  source.path = 'clusters/prod';
  source.error = {
    message: 'fetch failed',
    reason: 'SourceUnavailable',
    object: 'x',
    file: 'a.yaml',
    doc: 0,
    line: 3,
    since: NOW,
  };
  source.sync!.startedAt = NOW;
  source.sync!.conflicts = [
    { object: 'apps/Deployment/shop/web', field: '.spec.replicas', manager: 'hpa', message: 'owned' },
  ];
  source.drift = [
    { id: 'v1/ConfigMap/shop/cfg', fields: ['.data.a'], action: 'corrected', detectedAt: NOW },
    { id: 'v1/ConfigMap/shop/other', action: 'reported', detectedAt: '2026-11-25T05:00:00+02:00' },
  ];
  full.compacted = 3;
  full.previews = [
    {
      ref: 'refs/pull/7/head',
      commit: 'def4567',
      state: 'open',
      plannedAt: NOW,
      plan: { entries: [{ id: 'a', action: 'update', diff: [{ path: '/spec' }] }], counts: { update: 1 } },
      error: null,
    },
    { ref: 'refs/pull/8/head', commit: 'abc', state: 'closed', mergedAs: 'abc123', plan: null },
  ];
  const sparse = makeReport('edge-1', 0) as Record<string, unknown>;
  delete sparse.previews;
  delete sparse.createdAt;
  const empty = { ...makeReport('x0', 1), labels: {}, sources: [] } as ReportInput;
  const unicode = makeReport('prod-uni', 2, {
    labels: { 'team.example.com/owner': 'zoë' },
    message: '💥'.repeat(2000),
  });
  const missingDefaults = makeReport('prod-def', 3) as unknown as {
    sources: { drift?: unknown; health: { objects: { message?: string }[] } }[];
  };
  delete missingDefaults.sources[0]!.drift;
  delete missingDefaults.sources[0]!.health.objects[0]!.message;
  const nulls = makeReport('prod-null', 4);
  Object.assign(nulls.sources[0]!, {
    commit: null,
    fetchedAt: null,
    sync: null,
    health: null,
    reachable: false,
  });
  return [
    plain,
    full,
    sparse as ReportInput,
    empty,
    unicode,
    missingDefaults as unknown as ReportInput,
    nulls,
  ];
}

const REPLACEMENTS: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'Synced',
  'not-a-date',
  '2026-13-45T99:00:00Z',
  '2026-11-25T04:00:00',
  'y'.repeat(65),
  'y'.repeat(5000),
  '\u{1F4A5}'.repeat(40),
  '\u{1F4A5}'.repeat(2100),
  -1,
  0,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  true,
  [],
  [1],
  {},
  { extra: 1 },
];

type Json = Record<string, unknown> | unknown[];

/** Every container in `value` with its keys, for mutating in place on a clone. */
function paths(
  value: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths(v, [...at, i], out);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  out.push(at);
  return out;
}

function mutate(base: unknown, path: (string | number)[], replacement: unknown): unknown {
  const copy = structuredClone(base) as Json;
  if (path.length === 0) return replacement;
  let parent = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** Inputs: each valid report, each with every value replaced by each replacement, and extra keys. */
function corpus(): unknown[] {
  const inputs: unknown[] = [];
  for (const report of validReports()) {
    inputs.push(report);
    for (const path of paths(report)) {
      for (const r of REPLACEMENTS) inputs.push(mutate(report, path, r));
      const target = mutate(report, path, undefined);
      inputs.push(target);
      // An unknown key on the container at this path (stripped by zod, or kept by a loose object).
      const withExtra = structuredClone(report) as Record<string, unknown>;
      let node: unknown = withExtra;
      for (const p of path) node = (node as Record<string | number, unknown>)[p];
      if (node && typeof node === 'object' && !Array.isArray(node)) {
        (node as Record<string, unknown>).unknownField = 'x';
        inputs.push(withExtra);
      }
    }
  }
  inputs.push(JSON.parse('{"__proto__": {"cluster": "x"}, "cluster": "a"}'), 'a report', 42, null, []);
  return inputs;
}

// Thousands of generated cases: the suite's 20 s default is too tight on a loaded 2-core machine.
describe('compiled report check', { timeout: 120_000 }, () => {
  it('accepts the valid reports without zod, with the output zod gives (defaults filled in)', () => {
    for (const report of validReports()) {
      const text = JSON.stringify(report, null, 1);
      const fast = parseReportFast(JSON.parse(text), text);
      const slow = Report.safeParse(structuredClone(report));
      expect(slow.success).toBe(true);
      expect(fast.ok, text.slice(0, 200)).toBe(true);
      if (!fast.ok) continue;
      expect(fast.report).toStrictEqual(slow.data);
      // Stored as text: the body itself, with top-level defaults appended; nested ones need a rewrite.
      if (fast.json !== undefined) expect(JSON.parse(fast.json)).toStrictEqual(slow.data);
    }
    const sparse = validReports()[2]!;
    const text = JSON.stringify(sparse);
    const parsed = parseReportFast(JSON.parse(text), text);
    expect(parsed.ok && parsed.json).toBe(`${text.slice(0, -1)},"previews":[]}`);
    const nested = JSON.stringify(validReports()[5]);
    const rewritten = parseReportFast(JSON.parse(nested), nested);
    expect(rewritten.ok).toBe(true);
    expect(rewritten.json).toBeUndefined();
  });

  it('never accepts what zod rejects, and answers what zod answers for thousands of mutations', () => {
    const inputs = corpus();
    expect(inputs.length).toBeGreaterThan(3000);
    let fastAccepted = 0;
    let zodRejected = 0;
    for (const input of inputs) {
      const slow = Report.safeParse(structuredClone(input));
      const fast = fastCheckReport(structuredClone(input));
      const text = JSON.stringify(input);
      const shown = text?.slice(0, 300);
      if (!slow.success) zodRejected++;
      if (fast !== undefined) {
        fastAccepted++;
        expect(slow.success, `fast check accepted what zod rejects: ${shown}`).toBe(true);
        expect(fast, shown).toStrictEqual(slow.data);
        const json = (parseReportFast(JSON.parse(text), text) as { json?: string }).json;
        if (json !== undefined) expect(JSON.parse(json), shown).toStrictEqual(slow.data);
      }
      // The combined parser: same verdict, same issues (paths and messages) as zod alone.
      expect(parseReportFast(structuredClone(input)), shown).toEqual(parseReport(structuredClone(input)));
    }
    // The corpus exercises both sides.
    expect(zodRejected).toBeGreaterThan(1000);
    expect(fastAccepted).toBeGreaterThan(100);
  });

  it('names the offending field of a rejected report, as zod does', () => {
    const input = makeReport('prod-hz', 1) as unknown as { sources: { sync: { phase: string } }[] };
    input.sources[0]!.sync.phase = 'Exploded';
    const parsed = parseReportFast(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toEqual(['sources[0].sync.phase']);
  });

  it('refuses to compile a schema construct it cannot reproduce exactly', () => {
    expect(() => compileCheck(z.object({ a: z.union([z.string(), z.number()]) }))).toThrow(
      /schema node "union" at \(report\)\.a is not supported/,
    );
    expect(() => compileCheck(z.object({ n: z.number().multipleOf(5) }))).toThrow(/number check/);
  });
});
