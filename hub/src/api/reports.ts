/** `POST /api/v1/reports`: an agent's status report, authenticated by its cluster's token. */

import { redactUrl } from '../../../contract/redact.js';
import { describeIssues, type Report } from '../../../contract/report.js';
import { summariseReport } from '../fleet/summary.js';
import { credentialOf, type TokenCheck } from './auth.js';
import { HttpError, json, parseJson, type Reply, readBody } from './http.js';
import { parseReportFast } from './report-check.js';
import type { Hub, RequestContext, Route } from './router.js';

/** Where agents post their reports. */
export const REPORTS_PATH = '/api/v1/reports';

/** The route agents post reports to. */
export const reportRoutes: Route[] = [
  { method: 'POST', path: REPORTS_PATH, access: 'agent', handle: ({ hub, req }) => receiveReport(hub, req) },
];

/** The handler of `POST /api/v1/reports`; the server calls it directly for that exact path. */
export async function receiveReport(hub: Hub, req: RequestContext['req']): Promise<Reply> {
  try {
    const token = authenticate(hub, req.headers.authorization);
    const { cluster, tokenId } = token instanceof Promise ? accepted(await token) : accepted(token);
    const text = (await readBody(req, hub.settings.bodyLimit)).toString('utf8');
    const { report, json: reportJson } = validate(parseJson(text), text);
    mustBeTokenCluster(cluster, report.cluster);
    const outcome = await hub.writer.save({
      report,
      summary: summariseReport(report),
      receivedAt: hub.now(),
      tokenId,
      reportJson,
    });
    if (outcome.result === 'revoked') {
      hub.tokens.revoked(tokenId);
      throw revokedError();
    }
    hub.metrics.received[outcome.result] = (hub.metrics.received[outcome.result] ?? 0) + 1;
    return json(200, { result: outcome.result, cluster, seq: report.seq, latestSeq: outcome.latestSeq });
  } catch (err) {
    if (err instanceof HttpError) {
      const reason = REJECT_REASON[err.status] ?? 'other';
      hub.metrics.rejected[reason] = (hub.metrics.rejected[reason] ?? 0) + 1;
    }
    throw err;
  }
}

const CREATE_HINT = 'create one with "strata hub token create CLUSTER"';

/** A 403 unless `named`, the cluster a report or heartbeat speaks for, is the token's own. */
export function mustBeTokenCluster(tokenCluster: string, named: string): void {
  if (named === tokenCluster) return;
  throw new HttpError(
    403,
    `this token belongs to cluster "${tokenCluster}" and cannot report for "${named}"`,
    {
      tokenCluster,
      reportCluster: named,
    },
  );
}

/** The 401 a revoked or unknown token gets. */
export function revokedError(): HttpError {
  return new HttpError(401, `token revoked: ${CREATE_HINT}`);
}

const REJECT_REASON: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'too_large',
};

/**
 * Checks an agent's bearer token; synchronous when the token store answers from memory, so the hot
 * path does not wait.
 */
export function authenticate(hub: Hub, header: string | undefined): TokenCheck | Promise<TokenCheck> {
  const token = header?.toLowerCase().startsWith('bearer ') ? credentialOf(header) : undefined;
  if (!token) {
    throw new HttpError(401, 'missing bearer token: send "Authorization: Bearer <cluster token>"');
  }
  return hub.tokens.verify(token);
}

/** The cluster and token id of a valid check; throws the 401 otherwise. */
export function accepted(check: TokenCheck): { cluster: string; tokenId: string } {
  if (!check.ok) throw new HttpError(401, `${check.reason}: ${CREATE_HINT}`);
  return check;
}

/** The valid report with URLs redacted, and its JSON text when the body's text can be stored as is. */
function validate(input: unknown, text: string): { report: Report; json?: string } {
  const parsed = parseReportFast(input, text);
  if (!parsed.ok) {
    throw new HttpError(400, `invalid report: ${describeIssues(parsed.issues)}`, {
      issues: parsed.issues.slice(0, 50),
    });
  }
  const report = parsed.report;
  let json = parsed.json;
  for (const source of report.sources) {
    const url = redactUrl(source.url);
    if (url === source.url) continue;
    source.url = url;
    json = undefined;
  }
  return { report, json };
}
