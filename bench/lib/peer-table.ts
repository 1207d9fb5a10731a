/** The figures of one tool in one object set of `bench:peers`, and the table that shows both tools. */
import type { Scenario } from './peer-repo.js';

export interface ToolFigures {
  /** From starting the tool's processes (Flux: and creating its objects) until every object exists. */
  firstSyncAppliedMs: number;
  /** … until every Deployment is Available (= applied when there are none). */
  firstSyncHealthyMs: number;
  /** … until the tool itself reports Ready (Flux Kustomization) / Synced (Strata's sync phase). */
  firstSyncReadyMs: number;
  firstSyncCpuS: number;
  firstSyncRequests: number;
  pushTriggerMs: number[];
  pushPollingMs: number[];
  noopReconciles: number;
  noopWindowS: number;
  noopCpuS: number;
  noopRequests: number;
  /** Lowest resident memory sampled (every 250 ms) during the no-op window, all processes summed. */
  idleRssBytes: number;
  /** Highest VmHWM over the run, all processes summed (Flux: an upper bound of their joint peak). */
  peakRssBytes: number;
  driftMs: number[];
  pruneMs: number;
}

export interface TableInput {
  scenario: Scenario;
  loadavgBefore: string;
  loadavgAfter: string;
  tools: { strata: ToolFigures; flux: ToolFigures };
}

function median(xs: number[] | undefined): number {
  const s = [...(xs ?? [])].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const seconds = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const count = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const cpu = (s: number) => `${s.toFixed(s < 1 ? 3 : 2)} s`;

interface Row {
  label: string;
  strata: number;
  flux: number;
  show: (v: number) => string;
  /** What Strata must reach: the ratio Flux ÷ Strata at least this (every row: lower is better). */
  target: number;
}

export function tableRows(t: TableInput, interval: string): Row[] {
  const { strata: s, flux: f } = t.tools;
  return [
    {
      label: 'first sync: all objects applied',
      strata: s.firstSyncAppliedMs,
      flux: f.firstSyncAppliedMs,
      show: seconds,
      target: 1,
    },
    ...(t.scenario.apps > 0
      ? [
          {
            label: 'first sync: Deployments Available',
            strata: s.firstSyncHealthyMs,
            flux: f.firstSyncHealthyMs,
            show: seconds,
            target: 1,
          },
        ]
      : []),
    {
      label: 'first sync: tool reports Ready/Synced',
      strata: s.firstSyncReadyMs,
      flux: f.firstSyncReadyMs,
      show: seconds,
      target: 1,
    },
    {
      label: 'first sync: CPU seconds',
      strata: s.firstSyncCpuS,
      flux: f.firstSyncCpuS,
      show: cpu,
      target: 1,
    },
    {
      label: 'first sync: API requests',
      strata: s.firstSyncRequests,
      flux: f.firstSyncRequests,
      show: count,
      target: 1,
    },
    {
      label: 'push → applied, trigger (median)',
      strata: median(s.pushTriggerMs),
      flux: median(f.pushTriggerMs),
      show: seconds,
      target: 1,
    },
    {
      label: `push → applied, polling ${interval} (median)`,
      strata: median(s.pushPollingMs),
      flux: median(f.pushPollingMs),
      show: seconds,
      target: 1,
    },
    { label: 'CPU per no-op reconcile', strata: s.noopCpuS, flux: f.noopCpuS, show: cpu, target: 10 },
    {
      label: 'API requests per no-op reconcile',
      strata: s.noopRequests,
      flux: f.noopRequests,
      show: count,
      target: 10,
    },
    {
      label: 'RSS idle (lowest between reconciles)',
      strata: s.idleRssBytes,
      flux: f.idleRssBytes,
      show: mib,
      target: 1,
    },
    { label: 'RSS peak (VmHWM)', strata: s.peakRssBytes, flux: f.peakRssBytes, show: mib, target: 1 },
    {
      label: `drift corrected, on the ${interval} interval (median)`,
      strata: median(s.driftMs),
      flux: median(f.driftMs),
      show: seconds,
      target: 1,
    },
    { label: 'prune 10 %, trigger → gone', strata: s.pruneMs, flux: f.pruneMs, show: seconds, target: 1 },
  ];
}

/** A Markdown table: Strata, Flux, Flux ÷ Strata (above 1: Strata ahead) and whether the target is met. */
export function formatTable(t: TableInput, interval: string): string {
  const { scenario: sc } = t;
  const title = `${sc.configMaps} ConfigMaps${sc.apps ? ` + ${sc.apps} Deployments + ${sc.apps} Services` : ''}`;
  const lines = [
    `### ${title} (load average before ${t.loadavgBefore}, after ${t.loadavgAfter})`,
    '',
    '| | Strata | Flux | Flux ÷ Strata | target |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  // A run stopped by its --timeout leaves rows unmeasured: shown as —, never as a ratio.
  const known = (v: number) => typeof v === 'number' && Number.isFinite(v);
  const show = (row: Row, v: number) => (known(v) ? row.show(v) : '—');
  for (const row of tableRows(t, interval)) {
    const ratio = row.flux / row.strata;
    const measured = known(row.strata) && known(row.flux) && known(ratio);
    const met = !measured ? 'not measured' : ratio >= row.target ? 'met' : 'missed';
    lines.push(
      `| ${row.label} | ${show(row, row.strata)} | ${show(row, row.flux)} | ${measured ? `${ratio.toFixed(ratio >= 10 ? 0 : 2)}×` : '—'} | ≥ ${row.target}× ${met} |`,
    );
  }
  const { strata: s, flux: f } = t.tools;
  const window = (n: number | undefined, w: number | undefined) =>
    n === undefined || w === undefined ? 'not measured' : `${n} in ${w.toFixed(0)} s`;
  lines.push(
    '',
    `No-op window: Strata ${window(s.noopReconciles, s.noopWindowS)} (reconciles), Flux ${window(f.noopReconciles, f.noopWindowS)} (Kustomization reconciles).`,
  );
  return lines.join('\n');
}
