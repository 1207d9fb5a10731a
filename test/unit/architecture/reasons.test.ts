import { describe, expect, it } from 'vitest';
import { errorFromResponse } from '../../../agent/src/kube/errors.js';
import type { PlanError } from '../../../agent/src/plan/types.js';
import { RenderError } from '../../../agent/src/render/index.js';
import {
  type ReportReason,
  renderReportErrors,
  syncReportError,
  thrownReportError,
} from '../../../agent/src/sync/report-errors.js';
import type { SyncError } from '../../../agent/src/sync/types.js';
import { REPORT_CONTENT } from '../../../contract/limits.js';

describe('typed reasons', () => {
  it('accepts the engine’s and Kubernetes’ reasons and refuses a misspelt one (checked by tsc)', () => {
    const ours: PlanError = { reason: 'BadAnnotation', message: 'm' };
    const theirs: PlanError = { reason: 'Invalid', message: 'm' };
    const noStatus: PlanError = { reason: 'HTTP502', message: 'm' };
    // @ts-expect-error a reason neither Strata nor Kubernetes defines
    const typo: PlanError = { reason: 'Invaild', message: 'm' };
    // @ts-expect-error a sync reason is not a free string
    const sync: SyncError = { reason: 'Rendered', message: 'm' };
    // @ts-expect-error a report reason is not a free string
    const report: ReportReason = 'Whatever';
    expect([ours, theirs, noStatus, typo, sync].map((e) => e.reason)).toHaveLength(5);
    expect(report).toBe('Whatever');
  });

  it('keeps an apiserver’s own reason as sent, and HTTP<code> when it sent no Status', () => {
    expect(errorFromResponse(403, '{"reason":"WebhookDenied","message":"no"}', 'patch').reason).toBe(
      'WebhookDenied',
    );
    expect(errorFromResponse(502, 'Bad Gateway', 'get').reason).toBe('HTTP502');
  });
});

describe('one mapping from engine errors to report errors', () => {
  it('cuts a sync error to the report bounds, naming the object', () => {
    const long = 'x'.repeat(REPORT_CONTENT.maxMessageChars + 50);
    const e = syncReportError({ id: '/ConfigMap/a/b', reason: 'Invalid', message: long });
    expect(e.message).toHaveLength(REPORT_CONTENT.maxMessageChars);
    expect(e.message.endsWith('…')).toBe(true);
    expect(e).toMatchObject({ reason: 'Invalid', object: '/ConfigMap/a/b' });
  });

  it('reports an unreachable chart source as the source’s fault, other render errors with their place', () => {
    const [source, file] = renderReportErrors([
      new RenderError({ code: 'source', message: 'chart repository unreachable' }),
      new RenderError({ code: 'file', file: 'a.yaml', line: 3, message: 'bad' }),
    ]);
    expect(source?.reason).toBe('SourceUnavailable');
    expect(file).toEqual({ reason: 'RenderError', message: 'bad', file: 'a.yaml', line: 3 });
  });

  it('reports a thrown error with the reason the loop gives it', () => {
    expect(thrownReportError(new Error('boom'), 'ReconcileError')).toEqual({
      reason: 'ReconcileError',
      message: 'boom',
    });
  });
});
