/** `POST /api/v1/heartbeats`: an agent says it is alive and its state is still that of report `of`. */
import { HEARTBEATS_PATH, Heartbeat } from '../../../contract/heartbeat.js';
import { describeIssues } from '../../../contract/report.js';
import { HttpError, json, parseJson, type Reply, readBody } from './http.js';
import { accepted, authenticate, mustBeTokenCluster, revokedError } from './reports.js';
import type { Hub, RequestContext, Route } from './router.js';

/** A heartbeat is a few dozen bytes: anything much larger is not one. */
const HEARTBEAT_LIMIT = 4096;

/** The route agents send heartbeats to between reports. */
export const heartbeatRoutes: Route[] = [
  {
    method: 'POST',
    path: HEARTBEATS_PATH,
    access: 'agent',
    handle: ({ hub, req }) => receiveHeartbeat(hub, req),
  },
];

/** Takes one heartbeat: the token must belong to the cluster it names. */
export async function receiveHeartbeat(hub: Hub, req: RequestContext['req']): Promise<Reply> {
  const token = authenticate(hub, req.headers.authorization);
  const { cluster, tokenId } = token instanceof Promise ? accepted(await token) : accepted(token);
  const parsed = Heartbeat.safeParse(parseJson((await readBody(req, HEARTBEAT_LIMIT)).toString('utf8')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.join('.') || '(heartbeat)',
      message: i.message,
    }));
    throw new HttpError(400, `invalid heartbeat: ${describeIssues(issues)}`, { issues });
  }
  const beat = parsed.data;
  mustBeTokenCluster(cluster, beat.cluster);
  const outcome = await hub.writer.beat({
    cluster,
    seq: beat.seq,
    of: beat.of,
    receivedAt: hub.now(),
    tokenId,
  });
  if (outcome.result === 'revoked') {
    hub.tokens.revoked(tokenId);
    throw revokedError();
  }
  hub.metrics.heartbeats[outcome.result] = (hub.metrics.heartbeats[outcome.result] ?? 0) + 1;
  const body = {
    result: outcome.result,
    cluster,
    seq: beat.seq,
    of: beat.of,
    latestSeq: outcome.latestSeq ?? null,
  };
  return json(outcome.result === 'full-report-needed' ? 409 : 200, body);
}
