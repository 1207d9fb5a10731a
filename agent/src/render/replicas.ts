/**
 * Weighted replica division: a workload's replicas in Git are the fleet's total, divided across
 * the clusters of the fleet inventory (`clusters.yaml` beside `strata.yaml`) by a static weight
 * list, as Karmada's `replicaDivisionPreference: Weighted` does. Every agent computes the whole
 * division from the commit alone and keeps its own share, so all agents agree without talking to
 * each other. PURE.
 */
import { type LabelSelector, matchesSelector, parseSelector } from '../../../contract/selector.js';
import type { ClusterIdentity, KubeObject } from '../model/object.js';
import type { ParsedDocument } from './documents.js';
import { RenderError } from './errors.js';

/** The fleet's list of clusters, which replica weights are divided across. */
export const INVENTORY_FILE = 'clusters.yaml';
/** The annotation that divides a workload's replicas across clusters by weight. */
export const REPLICA_WEIGHTS = 'strata.dev/replica-weights';
/** Written on the output object: this cluster's share and how it was reached, for people and previews. */
export const REPLICA_SHARE = 'strata.dev/replica-share';
/** Workloads whose `spec.replicas` may be divided. */
export const DIVISIBLE_KINDS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet']);
const MAX_WEIGHT = 1_000_000;
const MAX_CLUSTERS = 100_000;
const MAX_ENTRIES = 64;

/** The clusters of the fleet, from `clusters.yaml`. */
export interface FleetInventory {
  clusters: ClusterIdentity[];
}

/** The inventory from `clusters.yaml`'s parsed documents (one document: `clusters: [{ name, labels }]`). */
export function readInventory(docs: readonly ParsedDocument[]): {
  inventory?: FleetInventory;
  errors: RenderError[];
} {
  const doc = docs[0];
  const fail = (path: (string | number)[], message: string) => ({
    errors: [
      new RenderError({
        code: 'config',
        file: INVENTORY_FILE,
        ...(doc ? { doc: doc.index, ...doc.locate(path) } : {}),
        message: `${INVENTORY_FILE}: ${message}`,
      }),
    ],
  });
  if (!doc || docs.length > 1) return fail([], 'must hold exactly one YAML document');
  const value = doc.value as { clusters?: unknown } | null;
  if (!value || typeof value !== 'object' || !Array.isArray(value.clusters))
    return fail([], '"clusters" must be a list of { name, labels }');
  if (value.clusters.length > MAX_CLUSTERS) return fail(['clusters'], `more than ${MAX_CLUSTERS} clusters`);
  const clusters: ClusterIdentity[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of value.clusters.entries()) {
    const c = raw as { name?: unknown; labels?: unknown } | null;
    if (!c || typeof c !== 'object' || typeof c.name !== 'string' || c.name === '')
      return fail(['clusters', i], `clusters[${i}].name must be a non-empty string`);
    if (seen.has(c.name))
      return fail(['clusters', i, 'name'], `clusters[${i}]: cluster ${c.name} is listed twice`);
    seen.add(c.name);
    const labels: Record<string, string> = {};
    if (c.labels !== undefined && c.labels !== null) {
      if (typeof c.labels !== 'object' || Array.isArray(c.labels))
        return fail(['clusters', i, 'labels'], `clusters[${i}].labels must be a map of strings`);
      for (const [k, v] of Object.entries(c.labels)) {
        if (typeof v !== 'string')
          return fail(['clusters', i, 'labels', k], `clusters[${i}].labels.${k} must be a string`);
        labels[k] = v;
      }
    }
    clusters.push({ name: c.name, labels });
  }
  return { inventory: { clusters }, errors: [] };
}

/** One weight of a replica-weights annotation: the clusters it selects and their weight. */
export interface WeightEntry {
  selector: LabelSelector;
  text: string;
  weight: number;
}

/**
 * `SELECTOR: WEIGHT; SELECTOR: WEIGHT`, e.g. `region=cn-hangzhou: 2; tier=edge: 1`. A cluster takes
 * the weight of the first entry whose selector matches its inventory labels; an empty selector
 * matches every cluster. Throws a message naming the bad entry.
 */
export function parseWeights(raw: string): WeightEntry[] {
  const parts = raw
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new Error('lists no "SELECTOR: WEIGHT" entry');
  if (parts.length > MAX_ENTRIES) throw new Error(`has more than ${MAX_ENTRIES} entries`);
  return parts.map((part, i) => {
    const colon = part.lastIndexOf(':');
    if (colon < 0) throw new Error(`entry ${i + 1} ("${part}") is not "SELECTOR: WEIGHT"`);
    const text = part.slice(0, colon).trim();
    const weightText = part.slice(colon + 1).trim();
    const weight = Number(weightText);
    if (!/^\d+$/.test(weightText) || weight < 1 || weight > MAX_WEIGHT)
      throw new Error(
        `entry ${i + 1} ("${part}"): the weight must be a whole number from 1 to ${MAX_WEIGHT}`,
      );
    try {
      return { selector: text === '' ? [] : parseSelector(text), text, weight };
    } catch (err) {
      throw new Error(`entry ${i + 1} ("${part}"): ${(err as Error).message}`);
    }
  });
}

/** This cluster's share of a workload's replicas and how it was reached. */
export interface Share {
  replicas: number;
  weight: number;
  totalWeight: number;
  clusters: number;
}

/**
 * Divides `total` by weight: each cluster gets the floor of its exact share, and the replicas left
 * over go one each by the largest fraction left, then the larger weight, then the cluster name —
 * a stable order, so every agent computes the same division.
 */
export function divideReplicas(
  total: number,
  weights: readonly { name: string; weight: number }[],
): Map<string, number> {
  const sum = weights.reduce((n, w) => n + w.weight, 0);
  const out = new Map<string, number>();
  if (sum === 0) return out;
  const rows = weights.map((w) => {
    const exact = total * w.weight;
    return { ...w, base: Math.floor(exact / sum), rest: exact % sum };
  });
  let left = total - rows.reduce((n, r) => n + r.base, 0);
  const order = [...rows].sort(
    (a, b) => b.rest - a.rest || b.weight - a.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (const r of order) {
    out.set(r.name, r.base + (left > 0 ? 1 : 0));
    if (left > 0) left--;
  }
  return out;
}

/** This cluster's share of a workload's replicas under `raw` weights, or a message saying why there is none. */
export function shareOf(
  raw: string,
  total: number,
  inventory: FleetInventory | undefined,
  cluster: ClusterIdentity,
): Share {
  const entries = parseWeights(raw);
  if (!inventory)
    throw new Error(`needs the fleet inventory ${INVENTORY_FILE} beside strata.yaml, and there is none`);
  const weights: { name: string; weight: number }[] = [];
  for (const c of inventory.clusters) {
    const entry = entries.find((e) => matchesSelector(e.selector, c.labels));
    if (entry) weights.push({ name: c.name, weight: entry.weight });
  }
  const mine = weights.find((w) => w.name === cluster.name);
  if (!inventory.clusters.some((c) => c.name === cluster.name))
    throw new Error(
      `cluster ${cluster.name} is not in the fleet inventory ${INVENTORY_FILE}, so it has no share`,
    );
  if (!mine)
    throw new Error(
      `cluster ${cluster.name} matches no entry (its labels in ${INVENTORY_FILE} are ${JSON.stringify(
        inventory.clusters.find((c) => c.name === cluster.name)!.labels,
      )}), so it has no share`,
    );
  const division = divideReplicas(total, weights);
  return {
    replicas: division.get(cluster.name)!,
    weight: mine.weight,
    totalWeight: weights.reduce((n, w) => n + w.weight, 0),
    clusters: weights.length,
  };
}

/**
 * The object with this cluster's share as `spec.replicas` (the weights annotation replaced by the
 * share annotation), or null when it asks for no division. Throws a RenderError at the object.
 */
export function applyShare(
  id: string,
  object: KubeObject,
  inventory: FleetInventory | undefined,
  cluster: ClusterIdentity,
  at: { file: string; doc: number; line: number },
): KubeObject | null {
  const annotations = object.metadata.annotations;
  if (!annotations || !Object.hasOwn(annotations, REPLICA_WEIGHTS)) return null;
  const fail = (message: string) =>
    new RenderError({ code: 'document', ...at, object: id, message: `${id}: ${REPLICA_WEIGHTS} ${message}` });
  const kind = `${object.apiVersion.split('/')[0]}/${object.kind}`;
  if (!object.apiVersion.includes('/') || !DIVISIBLE_KINDS.has(kind))
    throw fail(`only divides a Deployment's, StatefulSet's or ReplicaSet's replicas, not a ${object.kind}'s`);
  const raw = annotations[REPLICA_WEIGHTS];
  if (typeof raw !== 'string') throw fail('must be a string');
  const spec = (object as { spec?: { replicas?: unknown } }).spec;
  const total = spec?.replicas ?? 1;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0)
    throw fail('divides spec.replicas, which must be a whole number (the fleet total)');
  let share: Share;
  try {
    share = shareOf(raw, total, inventory, cluster);
  } catch (err) {
    throw fail((err as Error).message);
  }
  const { [REPLICA_WEIGHTS]: _weights, ...rest } = annotations;
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: {
        ...rest,
        [REPLICA_SHARE]: `${share.replicas} of ${total} (weight ${share.weight} of ${share.totalWeight}, ${share.clusters} clusters)`,
      },
    },
    spec: { ...(spec ?? {}), replicas: share.replicas },
  } as KubeObject;
}
