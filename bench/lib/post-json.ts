/** The load generators' one request: a POST of a JSON body to the hub, answered by its status code. */
import { type Agent, request } from 'node:http';

/**
 * POSTs `body` (JSON text) to `url` with the agent token `token` on the pooled `agent`; answers the
 * status once the reply is drained, or -1 when the request failed, so a load loop counts a failure
 * rather than stopping.
 */
export function postJson(agent: Agent, url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(-1));
    req.end(body);
  });
}
