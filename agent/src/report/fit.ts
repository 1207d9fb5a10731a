/**
 * PURE: fit a report under a byte limit (the hub's body limit), trimming sections in a fixed
 * order and counting what was left out in `truncated`, so the hub shows a cluster's state with a
 * "truncated" mark instead of never seeing it. Order, least valuable first: the plan entries of
 * preview refs (oldest plan first), then whole previews (oldest first, ref and state kept), then
 * per source the health of objects that are Current, drift entries, conflicts, errors beyond the
 * first, and the health of the rest. Phase, commit, counts and the first error always stay.
 */
import type { ReportInput } from '../../../contract/report.js';

/** How many of each section a trimmed report left out. */
export type Omitted = Partial<
  Record<'previewEntries' | 'previews' | 'healthObjects' | 'drift' | 'conflicts' | 'errors', number>
>;

/** The `truncated` mark of a trimmed report: the limit and what was left out. */
export interface Truncation {
  /** The limit the report was fitted to. */
  limitBytes: number;
  omitted: Omitted;
}

type Preview = NonNullable<ReportInput['previews']>[number];
type Source = ReportInput['sources'][number];

/** A report's size as JSON, in bytes, as the hub's body limit counts it. */
export function reportBytes(report: ReportInput): number {
  return Buffer.byteLength(JSON.stringify(report));
}

/** The report itself when it fits, else a trimmed copy carrying `truncated`. Never throws. */
export function fitReport(report: ReportInput, limitBytes: number): ReportInput {
  if (reportBytes(report) <= limitBytes) return report;
  const out = structuredClone(report) as ReportInput & { truncated?: Truncation };
  const omitted: Omitted = { ...(out.truncated?.omitted ?? {}) };
  out.truncated = { limitBytes, omitted };
  const add = (k: keyof Omitted, n: number) => {
    if (n > 0) omitted[k] = (omitted[k] ?? 0) + n;
  };
  const fits = () => reportBytes(out) <= limitBytes;
  const previews = [...(out.previews ?? [])].sort(byPlannedAt);

  for (const p of previews) {
    if (fits()) return out;
    const n = p.plan?.entries?.length ?? 0;
    if (n > 0 && p.plan) {
      p.plan = { ...p.plan, entries: [] };
      add('previewEntries', n);
    }
  }
  for (const p of previews) {
    if (fits()) return out;
    const keep: Preview = { ref: p.ref, commit: p.commit, state: p.state };
    if (p.plannedAt) keep.plannedAt = p.plannedAt;
    if (p.plan || p.error) add('previews', 1);
    out.previews = (out.previews ?? []).map((q) => (q === p ? keep : q));
  }
  const steps: ((s: Source) => void)[] = [
    (s) => {
      if (!s.health) return;
      const before = s.health.objects.length;
      s.health.objects = s.health.objects.filter((o) => o.status !== 'Current');
      add('healthObjects', before - s.health.objects.length);
    },
    (s) => {
      add('drift', s.drift?.length ?? 0);
      s.drift = [];
    },
    (s) => {
      if (!s.sync) return;
      add('conflicts', s.sync.conflicts.length);
      s.sync.conflicts = [];
    },
    (s) => {
      if (!s.sync) return;
      add('errors', Math.max(0, s.sync.errors.length - 1));
      s.sync.errors = s.sync.errors.slice(0, 1);
    },
    (s) => {
      if (!s.health) return;
      add('healthObjects', s.health.objects.length);
      s.health.objects = [];
    },
  ];
  for (const step of steps) {
    for (const s of out.sources) {
      if (fits()) return out;
      step(s);
    }
  }
  return out;
}

/** Oldest plan first; a preview never planned counts as oldest. */
function byPlannedAt(a: Preview, b: Preview): number {
  return (a.plannedAt ?? '').localeCompare(b.plannedAt ?? '');
}
