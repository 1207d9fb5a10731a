import type { ClusterCapabilities } from '../render/helm-render.js';

/** How long discovered versions are reused: a cluster upgrade shows up within this, at 3 requests per refresh. */
const REFRESH_MS = 5 * 60_000;

/**
 * The cluster's versions for `helm template`, asked of the API server at most every five minutes, so
 * a no-op reconcile costs no request. A failed discovery keeps the last known versions (charts must
 * not render differently because one request failed); before the first success, helm's defaults.
 */
export function cachedCapabilities(
  discover: () => Promise<ClusterCapabilities>,
  now: () => number = Date.now,
): CachedCapabilities {
  let last: { at: number; value: ClusterCapabilities } | undefined;
  const get = async () => {
    if (last && now() - last.at < REFRESH_MS) return last.value;
    try {
      last = { at: now(), value: await discover() };
    } catch {
      if (!last) return {};
    }
    return last.value;
  };
  return Object.assign(get, { latest: () => last?.value });
}

/** Asks (at most every five minutes); `latest()` is what the last discovery said, without asking. */
export type CachedCapabilities = (() => Promise<ClusterCapabilities>) & {
  latest(): ClusterCapabilities | undefined;
};
