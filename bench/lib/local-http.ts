/** GET of a loopback endpoint (a tool's /metrics), a fresh connection each time, retried briefly. */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

function getOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No keep-alive: a server closing an idle connection just as it is reused fails the request.
    const req = http.get(url, { agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks).toString())
          : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 30 s`)));
    req.on('error', reject);
  });
}

/** The body of `url`; three attempts, since a busy process may drop one connection. */
export async function getText(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await getOnce(url);
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(200 * attempt);
    }
  }
}
