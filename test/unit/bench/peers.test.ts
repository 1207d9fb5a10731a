import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LogLineCounter } from '../../../bench/lib/log-count.js';
import { countDispatched } from '../../../bench/lib/peer-identity.js';
import { objectCount, repoFiles, scenario } from '../../../bench/lib/peer-repo.js';
import { formatTable, type ToolFigures } from '../../../bench/lib/peer-table.js';
import { sumMetric } from '../../../bench/lib/peer-tools.js';
import { cpuSeconds, memoryOf } from '../../../bench/lib/proc-stats.js';

const METRICS = `# HELP apiserver_flowcontrol_dispatched_requests_total [BETA] Number of requests executed
# TYPE apiserver_flowcontrol_dispatched_requests_total counter
apiserver_flowcontrol_dispatched_requests_total{flow_schema="bench-flux-system-kustomize-controller",priority_level="exempt"} 1204
apiserver_flowcontrol_dispatched_requests_total{flow_schema="bench-flux-system-source-controller",priority_level="exempt"} 96
apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} 5000
apiserver_flowcontrol_dispatched_requests_total_extra{flow_schema="bench-flux-system-source-controller"} 7
`;

function documents(files: Record<string, string | Uint8Array | null>): unknown[] {
  return Object.values(files).flatMap((text) =>
    typeof text === 'string' ? parseAllDocuments(text).map((d) => d.toJSON()) : [],
  );
}

describe('bench:peers helpers', () => {
  it('counts reconcile lines in a growing log, a line only once it is complete', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-count-'));
    try {
      const file = join(dir, 'kustomize-controller.log');
      const flux = new LogLineCounter(
        file,
        /"msg":"Reconciliation (finished|failed)[^"]*".*"controller":"kustomization"/,
      );
      expect(flux.read()).toBe(0); // no file yet
      const done =
        '{"level":"info","msg":"Reconciliation finished in 2.1s, next run in 10s","controller":"kustomization"}\n';
      appendFileSync(
        file,
        `${done}{"level":"info","msg":"server-side apply completed","controller":"kustomization"}\n`,
      );
      appendFileSync(file, done.slice(0, 40));
      expect(flux.read()).toBe(1);
      appendFileSync(
        file,
        `${done.slice(40)}{"level":"error","msg":"Reconciliation failed after 9m0s","controller":"kustomization"}\n`,
      );
      expect(flux.read()).toBe(3);
      expect(flux.read()).toBe(3);
      const strata = new LogLineCounter(join(dir, 'agent.log'), /"phase":"[A-Za-z]+".*"msg":"Reconciled\."/);
      appendFileSync(
        join(dir, 'agent.log'),
        '{"level":30,"phase":"Synced","seconds":0.1,"msg":"Reconciled."}\n{"level":30,"phase":null,"msg":"Reconciled."}\n',
      );
      expect(strata.read()).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts only the requests of the named FlowSchemas', () => {
    expect(
      countDispatched(METRICS, [
        'bench-flux-system-kustomize-controller',
        'bench-flux-system-source-controller',
      ]),
    ).toBe(1300);
    expect(countDispatched(METRICS, ['bench-strata-system-strata-agent'])).toBe(0);
  });

  it('writes the object set as files whose pruned version holds 90 % of the objects', () => {
    for (const name of ['1000', 'mixed']) {
      const s = scenario(name);
      const full = documents(repoFiles(s, { firstValue: 'v0', pruned: false }));
      const pruned = documents(repoFiles(s, { firstValue: 'v0', pruned: true }));
      expect(full).toHaveLength(objectCount(s));
      expect(pruned).toHaveLength(objectCount(s, true));
      expect(full.length - pruned.length).toBe((s.configMaps + 2 * s.apps) / 10);
    }
    const mixed = documents(repoFiles(scenario('mixed'), { firstValue: 'v0', pruned: false })) as {
      kind: string;
    }[];
    expect(mixed.filter((o) => o.kind === 'Deployment')).toHaveLength(50);
  });

  it('puts the push value in ConfigMap 0 only', () => {
    const docs = documents(repoFiles(scenario('1000'), { firstValue: 'p7', pruned: false })) as {
      metadata: { name: string };
      data?: { value: string };
    }[];
    expect(docs.filter((d) => d.data?.value === 'p7').map((d) => d.metadata.name)).toEqual(['cm-00000']);
  });

  it('refuses object counts it cannot split into ten files', () => {
    expect(() => scenario('1005')).toThrow(/--sizes: "1005"/);
    expect(() => scenario('lots')).toThrow(/--sizes/);
  });

  it('sums every series of a counter, and only that counter', () => {
    const text =
      'strata_reconciles_total{source="fleet",phase="Synced"} 9\nstrata_reconciles_total{source="fleet",phase="Progressing"} 2\nstrata_reconciles_total_x 5\n';
    expect(sumMetric(text, 'strata_reconciles_total')).toBe(11);
  });

  it('reads CPU time and memory of a live process from /proc, agreeing with Node', () => {
    const before = cpuSeconds(process.pid);
    const usage = process.cpuUsage();
    const giveUp = Date.now() + 20_000;
    // Busy until Node counts 0.3 s of CPU for this process (the machine may be loaded).
    const used = () => {
      const u = process.cpuUsage(usage);
      return (u.user + u.system) / 1e6;
    };
    while (used() < 0.3 && Date.now() < giveUp);
    const node = used();
    expect(node).toBeGreaterThanOrEqual(0.3);
    expect(cpuSeconds(process.pid) - before).toBeGreaterThan(node - 0.05);
    expect(cpuSeconds(process.pid) - before).toBeLessThan(node + 0.2);
    const mem = memoryOf(process.pid);
    expect(mem.rss).toBeGreaterThan(10 * 2 ** 20);
    expect(mem.peak).toBeGreaterThanOrEqual(mem.rss);
  });

  it('shows the ratio and marks a row Flux wins as missed', () => {
    const figures = (scale: number): ToolFigures => ({
      firstSyncAppliedMs: 1000 * scale,
      firstSyncHealthyMs: 1000 * scale,
      firstSyncReadyMs: 1000 * scale,
      firstSyncCpuS: scale,
      firstSyncRequests: 100 * scale,
      pushTriggerMs: [100 * scale, 200 * scale, 300 * scale],
      pushPollingMs: [5000 * scale],
      noopReconciles: 10,
      noopWindowS: 100,
      noopCpuS: 0.1 * scale,
      noopRequests: 3 * scale,
      idleRssBytes: 60 * 2 ** 20 * scale,
      peakRssBytes: 90 * 2 ** 20 * scale,
      driftMs: [5000 * scale],
      pruneMs: 400 * scale,
    });
    const table = formatTable(
      {
        scenario: scenario('1000'),
        loadavgBefore: '1 1 1',
        loadavgAfter: '2 2 2',
        tools: { strata: figures(1), flux: { ...figures(20), driftMs: [2500] } },
      },
      '10s',
    );
    expect(table).toContain('| API requests per no-op reconcile | 3.0 | 60.0 | 20× | ≥ 10× met |');
    expect(table).toContain(
      '| drift corrected, on the 10s interval (median) | 5.00 s | 2.50 s | 0.50× | ≥ 1× missed |',
    );
  });

  it('marks the rows a stopped run did not reach as not measured, never as a ratio', () => {
    const first: Partial<ToolFigures> = { firstSyncAppliedMs: 2000, firstSyncCpuS: 1 };
    const table = formatTable(
      {
        scenario: scenario('10000'),
        loadavgBefore: '1 1 1',
        loadavgAfter: '2 2 2',
        tools: { strata: { ...first, noopCpuS: 0.1 } as ToolFigures, flux: first as ToolFigures },
      },
      '10s',
    );
    expect(table).toContain('| first sync: all objects applied | 2.00 s | 2.00 s | 1.00× | ≥ 1× met |');
    expect(table).toContain('| CPU per no-op reconcile | 0.100 s | — | — | ≥ 10× not measured |');
    expect(table).toContain('| prune 10 %, trigger → gone | — | — | — | ≥ 1× not measured |');
    expect(table).toContain('No-op window: Strata not measured (reconciles), Flux not measured');
  });
});
