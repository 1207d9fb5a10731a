import { type ObjectHealth, objectHealth } from '../health/status.js';
import type { KubeClient, ObjectRef } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';

/** Limits of one wait for objects; the clock and sleep are injectable so tests need no timers. */
export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  /** Injected for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Where a wait ended: whether every object became Current, and each one's latest health. */
export interface WaitResult {
  ok: boolean;
  /** Latest health per object id. */
  health: Map<string, ObjectHealth>;
  objects: Map<string, KubeObject>;
  message?: string;
}

/** Polls until every object is Current; stops early when one is Failed, gives up at the timeout. */
export async function waitHealthy(
  client: KubeClient,
  targets: { id: string; ref: ObjectRef }[],
  opts: WaitOptions,
): Promise<WaitResult> {
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  const health = new Map<string, ObjectHealth>();
  const objects = new Map<string, KubeObject>();
  let pending = targets;
  for (;;) {
    // A read that fails (403, timeout) leaves that object Unknown and still awaited; it never
    // aborts the wait of the others.
    const seen = await Promise.all(
      pending.map((t) =>
        client.get(t.ref).then(
          (obj) => ({ obj, failed: undefined }),
          (err: unknown) => ({ obj: undefined, failed: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
    const still: typeof targets = [];
    pending.forEach((t, i) => {
      const { obj, failed } = seen[i] ?? { obj: undefined, failed: 'no answer' };
      if (obj) objects.set(t.id, obj);
      const h: ObjectHealth = failed
        ? { status: 'Unknown', message: `could not read the object: ${failed}` }
        : objectHealth(obj);
      health.set(t.id, h);
      if (h.status !== 'Current') still.push(t);
    });
    const broken = still.find((t) => health.get(t.id)?.status === 'Failed');
    if (broken)
      return {
        ok: false,
        health,
        objects,
        message: `${broken.id} failed: ${health.get(broken.id)?.message}`,
      };
    if (still.length === 0) return { ok: true, health, objects };
    if (now() >= deadline) {
      const first = still[0]!;
      return {
        ok: false,
        health,
        objects,
        message: `timed out after ${opts.timeoutMs} ms waiting for ${still.length} object(s), e.g. ${first.id}: ${health.get(first.id)?.message}`,
      };
    }
    pending = still;
    await sleep(opts.pollMs);
  }
}

/** Waits until a deleted object is really gone (finalizers done), so it can be created again. */
export async function waitGone(client: KubeClient, ref: ObjectRef, opts: WaitOptions): Promise<boolean> {
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  while (await client.get(ref)) {
    if (now() >= deadline) return false;
    await sleep(opts.pollMs);
  }
  return true;
}
