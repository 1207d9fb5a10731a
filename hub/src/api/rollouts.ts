/**
 * The rollout API. Agents announce the commit they fetched and learn whether it is released to
 * them (their cluster token); people read rollouts (read access) and pause, resume, abort or
 * approve them (the admin token, `--admin-token-file`).
 */
import { createHash } from 'node:crypto';
import { type ReleaseAnswer, RolloutAnnouncement } from '../../../contract/rollout.js';
import { parseRolloutRules, type RolloutRules, waveAt, waveCount } from '../../../contract/rollout-rules.js';
import type { ClusterGate } from '../fleet/gate.js';
import type { RolloutAction, RolloutRecord } from '../store/store.js';
import { HttpError, json, parseJson, type Reply, readBody } from './http.js';
import { accepted, authenticate } from './reports.js';
import { findRollout, type RolloutView, rolloutViewOf, sourceKey } from './rollout-view.js';
import type { RequestContext, Route } from './router.js';

/**
 * The rollout API: announcements from agents, the gate's answer, and pause, resume, abort,
 * approve.
 */
export const rolloutRoutes: Route[] = [
  { method: 'POST', path: '/api/v1/rollouts/announce', access: 'agent', handle: announce },
  { method: 'GET', path: '/api/v1/rollouts', access: 'read', handle: list },
  { method: 'GET', path: '/api/v1/rollouts/:sha', access: 'read', handle: show },
  ...(['pause', 'resume', 'abort', 'approve', 'waive'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/api/v1/rollouts/:sha/${action}`,
      access: 'admin',
      handle: (ctx) => control(ctx, action),
    }),
  ),
];

/** An announcement with a fleet inventory of a few thousand clusters fits. */
const BODY_LIMIT = 1024 * 1024;

async function announce({ hub, req }: RequestContext): Promise<Reply> {
  const check = authenticate(hub, req.headers.authorization);
  const { cluster } = accepted(check instanceof Promise ? await check : check);
  const parsed = RolloutAnnouncement.safeParse(parseJson(await readBody(req, BODY_LIMIT)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `invalid announcement: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const a = parsed.data;
  const rules = a.rules as RolloutRules;
  checkSelectors(rules);
  const rollout = await hub.store.announceRollout({
    commit: a.commit,
    source: sourceKey(a.source),
    rules,
    digest: createHash('sha256').update(JSON.stringify(rules)).digest('hex'),
    cluster,
    at: hub.now(),
  });
  const { view, mine } = await decideRelease(hub, rollout, { name: cluster, labels: a.labels });
  const wave = view.gate.waves.find((w) => w.index === mine.wave);
  const answer: ReleaseAnswer = {
    commit: a.commit,
    cluster,
    wave: mine.wave,
    waveName: waveAt(rollout.rules, mine.wave).name,
    released: mine.released,
    state: view.gate.state,
    reason: mine.released ? '' : gateReason(view.gate.state, view.gate.reason, wave?.reason ?? mine.reason),
  };
  return json(200, answer);
}

/**
 * Decides this cluster's release and commits it. The store refuses a release when a pause, abort
 * or newer commit landed since the rollout was read (on any replica), and the decision is then
 * taken again on the rollout as it is now: a stop is never lost to a release computed before it.
 */
async function decideRelease(
  hub: RequestContext['hub'],
  first: RolloutRecord,
  asking: { name: string; labels: Record<string, string> },
): Promise<{ view: RolloutView; mine: ClusterGate }> {
  let rollout = first;
  for (let attempt = 0; ; attempt++) {
    const view = await rolloutViewOf(hub, rollout, asking);
    const mine = view.gate.waves.flatMap((w) => w.clusters).find((c) => c.name === asking.name);
    if (!mine) throw new Error(`cluster ${asking.name} missing from its own rollout view`);
    if (!mine.released) return { view, mine };
    const record = mine.wave > 0;
    if (await hub.store.markReleased(rollout.commit, asking.name, view.decidedAt, { record }))
      return { view, mine };
    const now = await hub.store.getRollout(rollout.commit);
    if (!now || attempt >= 2)
      return {
        view,
        mine: { ...mine, released: false, reason: 'the rollout changed while deciding: ask again' },
      };
    rollout = now;
  }
}

function gateReason(state: string, rollout: string, wave: string): string {
  return state === 'progressing' ? wave : `rollout ${state}: ${rollout}`;
}

/** Selectors are strings in the contract: the same check as strata.yaml's, so a forged one cannot crash the gate. */
function checkSelectors(rules: RolloutRules): void {
  const { problems } = parseRolloutRules({
    waves: rules.waves.map((w) =>
      w.selector === null ? { name: w.name } : { name: w.name, selector: w.selector },
    ),
  });
  if (problems.length > 0) throw new HttpError(400, `invalid announcement: rules: ${problems[0]!.message}`);
}

async function list({ hub, url }: RequestContext): Promise<Reply> {
  const limit = Math.min(200, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
  const rollouts = await hub.store.listRollouts(limit);
  const views = await Promise.all(rollouts.map((r) => rolloutViewOf(hub, r)));
  return json(200, {
    rollouts: views.map(({ rollout, gate }) => ({
      commit: rollout.commit,
      source: rollout.source,
      startedAt: new Date(rollout.startedAt).toISOString(),
      state: gate.state,
      reason: gate.reason,
      waves: gate.waves.map((w) => ({ name: w.name, state: w.state, size: w.size, failures: w.failures })),
    })),
  });
}

async function show({ hub, params }: RequestContext): Promise<Reply> {
  const rollout = await rolloutOr404(hub, params.sha!);
  const view = await rolloutViewOf(hub, rollout);
  const events = await hub.store.rolloutEvents(rollout.commit);
  return json(200, {
    ...view,
    decidedAt: new Date(view.decidedAt).toISOString(),
    events: events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
  });
}

async function control(ctx: RequestContext, action: RolloutAction): Promise<Reply> {
  const { hub, req, params } = ctx;
  const rollout = await rolloutOr404(hub, params.sha!);
  const body = (parseJson((await readBody(req, 4096)).toString('utf8') || '{}') ?? {}) as Record<
    string,
    unknown
  >;
  const by = typeof body.by === 'string' ? body.by.slice(0, 128) : undefined;
  let wave: number | undefined;
  if (action === 'approve' || action === 'waive') {
    // Approval starts a later wave; a waiver lets go of any wave's clusters that have not run the commit.
    const names = Array.from({ length: waveCount(rollout.rules) }, (_, i) => waveAt(rollout.rules, i).name);
    const first = action === 'approve' ? 1 : 0;
    const given = body.wave;
    const index = typeof given === 'number' ? given : names.indexOf(String(given));
    if (!Number.isInteger(index) || index < first || index >= names.length)
      throw new HttpError(
        400,
        `${action} needs "wave": the name or index (${first}–${names.length - 1}) of a${first ? ' later' : ''} wave`,
        { waves: names.slice(first) },
      );
    wave = index;
  }
  if (action === 'resume' && rollout.abortedAt !== null)
    throw new HttpError(409, 'an aborted rollout cannot resume: push a new commit');
  const updated = await hub.store.controlRollout(rollout.commit, action, hub.now(), {
    ...(wave !== undefined ? { wave } : {}),
    ...(by ? { by } : {}),
  });
  hub.logger.info({ commit: rollout.commit, action, wave, by }, 'Rollout control.');
  const view = await rolloutViewOf(hub, updated!);
  return json(200, { commit: rollout.commit, action, state: view.gate.state, reason: view.gate.reason });
}

async function rolloutOr404(hub: RequestContext['hub'], sha: string) {
  if (!/^[0-9a-f]{7,64}$/.test(sha))
    throw new HttpError(400, `"${sha}" is not a commit (7 to 64 hex digits)`);
  const found = await findRollout(hub, sha);
  if (found === 'ambiguous') throw new HttpError(400, `commit prefix ${sha} names several rollouts`);
  if (!found) throw new HttpError(404, `no rollout of commit ${sha}: no agent announced it`);
  return found;
}
