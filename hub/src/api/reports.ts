/** `POST /api/v1/reports`: an agent's status report, authenticated by its cluster's token. */
import { describeIssues, parseReport, type Report } from '../../../agent/src/report/schema.js';
import { redactUrl, summarizeReport } from '../fleet/summary.js';
import { credentialOf, verifyToken } from './auth.js';
import { HttpError, json, parseJson, type Reply, readBody } from './http.js';
import type { RequestContext, Route } from './router.js';

export const reportRoutes: Route[] = [
  { method: 'POST', path: '/api/v1/reports', access: 'agent', handle: receiveReport },
];

async function receiveReport({ hub, req }: RequestContext): Promise<Reply> {
  try {
    const cluster = await authenticate(hub.store, req.headers.authorization);
    const report = validate(parseJson(await readBody(req, hub.settings.bodyLimit)));
    if (report.cluster !== cluster) {
      throw new HttpError(
        403,
        `this token belongs to cluster "${cluster}" and cannot report for "${report.cluster}"`,
        {
          tokenCluster: cluster,
          reportCluster: report.cluster,
        },
      );
    }
    const outcome = await hub.writer.save({
      report,
      summary: summarizeReport(report),
      receivedAt: hub.now(),
    });
    hub.metrics.received.inc({ result: outcome.result });
    return json(200, { result: outcome.result, cluster, seq: report.seq, latestSeq: outcome.latestSeq });
  } catch (err) {
    if (err instanceof HttpError) hub.metrics.rejected.inc({ reason: REJECT_REASON[err.status] ?? 'other' });
    throw err;
  }
}

const REJECT_REASON: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'too_large',
};

async function authenticate(
  store: RequestContext['hub']['store'],
  header: string | undefined,
): Promise<string> {
  const token = header?.toLowerCase().startsWith('bearer ') ? credentialOf(header) : undefined;
  if (!token) {
    throw new HttpError(401, 'missing bearer token: send "Authorization: Bearer <cluster token>"');
  }
  const check = await verifyToken(store, token);
  if (!check.ok)
    throw new HttpError(401, `${check.reason}: create one with "strata hub token create CLUSTER"`);
  return check.cluster;
}

function validate(input: unknown): Report {
  const parsed = parseReport(input);
  if (!parsed.ok) {
    throw new HttpError(400, `invalid report: ${describeIssues(parsed.issues)}`, {
      issues: parsed.issues.slice(0, 50),
    });
  }
  const report = parsed.report;
  for (const source of report.sources) source.url = redactUrl(source.url);
  return report;
}
