/** `strata rollout`: read a commit's staged rollout from the hub, and pause, resume, abort, approve or waive it. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../../../contract/usage.js';

const USAGE = `Usage:
  strata rollout list   --hub URL                       recent rollouts and their state
  strata rollout status COMMIT --hub URL [--json]       waves, each cluster's state, soak left, budget, why blocked
  strata rollout pause  COMMIT --hub URL --token-file FILE   release nobody new until resumed
  strata rollout resume COMMIT --hub URL --token-file FILE
  strata rollout abort  COMMIT --hub URL --token-file FILE   halt for good: nobody advances further
  strata rollout approve COMMIT --wave NAME --hub URL --token-file FILE   let a wave with approval: manual start
  strata rollout waive COMMIT --wave NAME --hub URL --token-file FILE     stop waiting for the clusters of a wave
                     that have not run the commit (offline, never reported): the wave passes on the others
Options:
  --hub URL          the hub (or STRATA_HUB_URL)
  --token-file FILE  the hub's admin token (or STRATA_HUB_ADMIN_TOKEN); reads use --read-token-file
  --read-token-file FILE  the hub's read token, when it has one
  --by NAME          who acts, recorded in the rollout's timeline (default: $USER)`;

const VERBS = ['list', 'status', 'pause', 'resume', 'abort', 'approve', 'waive'];

/** `strata rollout`: list, show, pause, resume, abort, approve or waive a staged rollout at the hub. */
export default async function rollout(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`strata rollout: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof HubError) {
      process.stderr.write(`strata rollout: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

class HubError extends Error {}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hub: { type: 'string' },
      'token-file': { type: 'string' },
      'read-token-file': { type: 'string' },
      wave: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [verb, commit] = positionals;
  if (!verb || !VERBS.includes(verb)) throw new UsageError(`unknown verb '${verb ?? ''}'`);
  const hub = values.hub ?? process.env.STRATA_HUB_URL;
  if (!hub) throw new UsageError('--hub URL is required');
  const base = hub.endsWith('/') ? hub : `${hub}/`;
  if (verb === 'list') {
    const body = await call(new URL('api/v1/rollouts', base), 'GET', readToken(values['read-token-file']));
    if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else process.stdout.write(formatList(body as ListBody));
    return 0;
  }
  if (!commit || !/^[0-9a-f]{7,64}$/.test(commit))
    throw new UsageError('a COMMIT (7 to 64 hex digits) is required');
  const path = `api/v1/rollouts/${commit}`;
  if (verb === 'status') {
    const body = await call(new URL(path, base), 'GET', readToken(values['read-token-file']));
    if (values.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else process.stdout.write(formatStatus(body as StatusBody));
    return 0;
  }
  if ((verb === 'approve' || verb === 'waive') && !values.wave)
    throw new UsageError(`${verb} needs --wave NAME`);
  const token = values['token-file']
    ? readFileSync(values['token-file'], 'utf8').trim()
    : process.env.STRATA_HUB_ADMIN_TOKEN;
  if (!token) throw new UsageError(`${verb} needs --token-file FILE (the hub's admin token)`);
  const by = values.by ?? process.env.USER;
  const body = (await call(new URL(`${path}/${verb}`, base), 'POST', token, {
    ...(values.wave ? { wave: /^\d+$/.test(values.wave) ? Number(values.wave) : values.wave } : {}),
    ...(by ? { by } : {}),
  })) as { commit: string; state: string; reason: string };
  process.stdout.write(`${verb}: ${body.commit.slice(0, 12)} is now ${body.state} (${body.reason})\n`);
  return 0;
}

function readToken(file: string | undefined): string | undefined {
  return file ? readFileSync(file, 'utf8').trim() : process.env.STRATA_HUB_READ_TOKEN;
}

async function call(url: URL, method: string, token: string | undefined, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new HubError(`cannot reach the hub at ${url.origin}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {}
    throw new HubError(`hub answered ${res.status}: ${message}`);
  }
  return JSON.parse(text);
}

interface ListBody {
  rollouts: {
    commit: string;
    startedAt: string;
    state: string;
    reason: string;
    waves: { name: string; state: string }[];
  }[];
}

function formatList(body: ListBody): string {
  if (body.rollouts.length === 0) return 'No rollouts yet.\n';
  return body.rollouts
    .map(
      (r) =>
        `${r.commit.slice(0, 12)}  ${r.startedAt}  ${r.state.padEnd(11)} ${r.waves.map((w) => `${w.name}:${w.state}`).join(' ')}\n`,
    )
    .join('');
}

interface StatusBody {
  rollout: { commit: string };
  gate: {
    state: string;
    reason: string;
    waves: {
      index: number;
      name: string;
      state: string;
      reason: string;
      size: number;
      failures: number;
      allowedFailures: number;
      soakLeftMs: number | null;
      clusters: { name: string; state: string; released: boolean; reason: string }[];
    }[];
  };
}

function formatStatus(body: StatusBody): string {
  const lines = [`Rollout of ${body.rollout.commit.slice(0, 12)}: ${body.gate.state} — ${body.gate.reason}`];
  for (const w of body.gate.waves) {
    const soak = w.soakLeftMs ? `, soak ${Math.ceil(w.soakLeftMs / 1000)}s left` : '';
    lines.push(
      `  wave ${w.index} ${w.name}: ${w.state} (${w.size} clusters, ${w.failures}/${w.allowedFailures} failures allowed${soak})${w.reason ? ` — ${w.reason}` : ''}`,
    );
    for (const c of w.clusters) lines.push(`    ${c.name.padEnd(24)} ${c.state.padEnd(9)} ${c.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
