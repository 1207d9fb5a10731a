/**
 * The test Git server as its own process, so a test can SIGKILL it (mid-fetch) and start it again
 * on the same port: `node --import tsx test/git/serve.ts ROOT HOST PORT`. Prints one JSON line
 * `{"listening":PORT}` once it serves, then `{"request":"METHOD URL"}` as each request arrives.
 */
import { startGitServer } from './server.js';

const [root, host = '127.0.0.1', port = '0'] = process.argv.slice(2);
if (!root) {
  process.stderr.write('usage: serve.ts ROOT [HOST] [PORT]\n');
  process.exit(2);
}
const server = await startGitServer({
  root,
  host,
  port: Number(port),
  onRequest: (method, url) => process.stdout.write(`${JSON.stringify({ request: `${method} ${url}` })}\n`),
});
process.stdout.write(`${JSON.stringify({ listening: server.port })}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
