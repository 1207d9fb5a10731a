import type { ObjectHealth } from '../health/status.js';
import { KubeApiError } from '../kube/errors.js';
import { mapBounded } from '../kube/pool.js';
import { type KubeClient, refOf } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';
import type { DesiredObject } from '../plan/desired.js';
import { orderIntoWaves, stepOf } from '../plan/order.js';
import { planErrorOf } from '../plan/plan.js';
import { needsApply, type PlanEntry, type PlanError, type PlanReason } from '../plan/types.js';
import { waitGone, waitHealthy } from './wait.js';

/** One plan entry to apply, with the object it applies. */
export interface ApplyItem {
  desired: DesiredObject;
  entry: PlanEntry;
  /** Whether this sync acts on the entry (false: drift left alone under policy `report`). */
  act: boolean;
}

/** What applying one object did; `replaced` is a delete and create for an immutable field. */
export type ApplyResultKind = 'created' | 'updated' | 'replaced' | 'failed';

/** The result of applying one object, by id; never the object's content in a report. */
export interface ApplyOutcome {
  id: string;
  result: ApplyResultKind;
  /** What the apiserver stored, for health and the cache. */
  object?: KubeObject;
  error?: PlanError;
}

/** Progress of an apply as it happens (waves, steps, objects, waits), for the CLI and logs. */
export type ApplyEvent =
  | { type: 'wave'; wave: number; objects: number }
  | { type: 'step'; wave: number; step: string; objects: number }
  | { type: 'object'; outcome: Omit<ApplyOutcome, 'object'> }
  | { type: 'waiting'; wave: number; what: string };

/** How an apply runs: field manager, force, concurrency and the timeouts of each wait. */
export interface ApplySettings {
  fieldManager: string;
  force: boolean;
  concurrency: number;
  /** How long CRDs may take to become Established. */
  crdTimeoutMs: number;
  /** How long a wave may take to become healthy before later waves give up. */
  waveTimeoutMs: number;
  /** How long a replaced object may take to disappear. */
  deleteTimeoutMs: number;
  pollMs: number;
  onEvent?: (e: ApplyEvent) => void;
}

function failure(id: string, reason: PlanReason, message: string): ApplyOutcome {
  return { id, result: 'failed', error: { reason, message } };
}

/** Immutable field: delete, wait until gone, create again. */
async function recreate(client: KubeClient, item: ApplyItem, s: ApplySettings): Promise<ApplyOutcome> {
  const { entry, desired } = item;
  await client.delete(entry.ref, { propagationPolicy: 'Foreground' });
  if (!(await waitGone(client, entry.ref, { timeoutMs: s.deleteTimeoutMs, pollMs: s.pollMs }))) {
    return failure(
      entry.id,
      'ReplaceTimeout',
      `deleted for replacement but still present after ${s.deleteTimeoutMs} ms`,
    );
  }
  const object = await client.apply(desired.object, { fieldManager: s.fieldManager, force: s.force });
  return { id: entry.id, result: 'replaced', object };
}

async function applyOne(
  client: KubeClient,
  item: ApplyItem,
  s: ApplySettings,
  failedCrds: Set<string>,
): Promise<ApplyOutcome> {
  const { entry, desired } = item;
  if (desired.problem) return failure(entry.id, 'BadAnnotation', desired.problem);
  if (entry.awaitsCrd) {
    if (failedCrds.has(entry.awaitsCrd)) {
      return failure(
        entry.id,
        'DependencyFailed',
        `its CustomResourceDefinition ${entry.awaitsCrd} was not established`,
      );
    }
    const served = await client.resourceFor(desired.object.apiVersion, desired.object.kind).then(
      (info) => info,
      (err: unknown) => err as Error,
    );
    if (served instanceof Error) return failure(entry.id, 'DiscoveryFailed', served.message);
    if (!served) {
      return failure(
        entry.id,
        'KindNotServed',
        `the cluster does not serve ${desired.object.kind} in ${desired.object.apiVersion}`,
      );
    }
  }
  try {
    if (entry.action === 'replace') return await recreate(client, item, s);
    const object = await client.apply(desired.object, { fieldManager: s.fieldManager, force: s.force });
    return { id: entry.id, result: entry.action === 'create' ? 'created' : 'updated', object };
  } catch (err) {
    if (err instanceof KubeApiError && err.isImmutable && desired.replace) {
      try {
        return await recreate(client, item, s);
      } catch (again) {
        return { id: entry.id, result: 'failed', error: planErrorOf(again) };
      }
    }
    return { id: entry.id, result: 'failed', error: planErrorOf(err) };
  }
}

/** CRDs just applied must be Established before their custom resources can be applied. */
async function establishCrds(
  client: KubeClient,
  outcomes: ApplyOutcome[],
  s: ApplySettings,
  failedCrds: Set<string>,
) {
  const applied = outcomes.filter((o) => o.object);
  for (const o of outcomes) if (!o.object) failedCrds.add(o.id);
  if (applied.length === 0) return;
  const wait = await waitHealthy(
    client,
    applied.map((o) => ({ id: o.id, ref: refOf(o.object!) })),
    { timeoutMs: s.crdTimeoutMs, pollMs: s.pollMs },
  );
  for (const o of applied) {
    if (wait.health.get(o.id)?.status !== 'Current') {
      failedCrds.add(o.id);
      o.result = 'failed';
      o.error = {
        reason: 'NotEstablished',
        message: wait.health.get(o.id)?.message ?? 'not established in time',
      };
    }
  }
  client.invalidateDiscovery();
}

/** Events leave the stored object out: it may be a Secret. */
function withoutObject({ object: _object, ...rest }: ApplyOutcome): Omit<ApplyOutcome, 'object'> {
  return rest;
}

/**
 * Applies the plan in order: waves ascending; within a wave CRDs (then Established), Namespaces,
 * other cluster-scoped objects, namespaced objects. One failure never stops the others; only a
 * custom resource of a failed CRD, and waves after an unhealthy wave, wait.
 */
export async function applyPlan(
  client: KubeClient,
  items: ApplyItem[],
  s: ApplySettings,
): Promise<{
  outcomes: ApplyOutcome[];
  health: Map<string, ObjectHealth>;
  observed: Map<string, KubeObject>;
}> {
  const waves = orderIntoWaves(
    items,
    (i) => i.desired.wave,
    (i) => stepOf(i.desired.object, i.desired.namespaced),
  );
  const outcomes: ApplyOutcome[] = [];
  const health = new Map<string, ObjectHealth>();
  const observed = new Map<string, KubeObject>();
  const failedCrds = new Set<string>();
  let blocked: string | undefined;
  for (const [index, wave] of waves.entries()) {
    const acting = wave.steps.flatMap((st) => st.items).filter((i) => i.act && needsApply(i.entry));
    if (blocked) {
      for (const i of acting) outcomes.push(failure(i.entry.id, 'WaveBlocked', blocked));
      continue;
    }
    s.onEvent?.({ type: 'wave', wave: wave.wave, objects: acting.length });
    for (const step of wave.steps) {
      const todo = step.items.filter((i) => i.act && needsApply(i.entry));
      if (todo.length === 0) continue;
      s.onEvent?.({ type: 'step', wave: wave.wave, step: step.kind, objects: todo.length });
      const done = await mapBounded(todo, s.concurrency, async (i) => {
        const outcome = await applyOne(client, i, s, failedCrds);
        if (step.kind !== 'crds') s.onEvent?.({ type: 'object', outcome: withoutObject(outcome) });
        return outcome;
      });
      if (step.kind === 'crds') {
        await establishCrds(client, done, s, failedCrds);
        for (const outcome of done) s.onEvent?.({ type: 'object', outcome: withoutObject(outcome) });
      }
      outcomes.push(...done);
    }
    if (
      index < waves.length - 1 &&
      waves
        .slice(index + 1)
        .some((w) => w.steps.some((st) => st.items.some((i) => i.act && needsApply(i.entry))))
    ) {
      s.onEvent?.({ type: 'waiting', wave: wave.wave, what: 'healthy' });
      const targets = wave.steps.flatMap((st) => st.items).map((i) => ({ id: i.entry.id, ref: i.entry.ref }));
      const result = await waitHealthy(client, targets, { timeoutMs: s.waveTimeoutMs, pollMs: s.pollMs });
      for (const [id, h] of result.health) health.set(id, h);
      for (const [id, o] of result.objects) observed.set(id, o);
      if (!result.ok) blocked = `wave ${wave.wave} did not become healthy: ${result.message}`;
    }
  }
  return { outcomes, health, observed };
}
