/** What the agent compares to decide between a full report and a heartbeat (contract/heartbeat.ts). */
import { createHash } from 'node:crypto';
import type { ReportInput } from '../../../contract/report.js';

/**
 * What "nothing changed" is measured on: the report without its seq, its creation time, its outbox
 * bookkeeping and the timestamps every reconcile moves (fetch, sync start and end, drift detection,
 * preview planning). Two reports with one digest differ only in when things last happened.
 */
export function reportDigest(report: ReportInput): string {
  const { seq: _seq, createdAt: _created, compacted: _compacted, truncated: _truncated, ...rest } = report;
  const stable = {
    ...rest,
    sources: report.sources.map((s) => ({
      ...s,
      fetchedAt: undefined,
      sync: s.sync ? { ...s.sync, startedAt: undefined, finishedAt: undefined } : s.sync,
      drift: (s.drift ?? []).map((d) => ({ ...d, detectedAt: undefined })),
    })),
    previews: (report.previews ?? []).map((p) => ({ ...p, plannedAt: undefined })),
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}
