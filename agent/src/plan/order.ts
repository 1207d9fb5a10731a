import type { KubeObject } from '../model/object.js';

/** The annotation that puts an object in an earlier or later wave (default 0). */
export const WAVE_ANNOTATION = 'strata.dev/wave';

/** Within a wave, objects go in this order; each step finishes before the next starts. */
export type StepKind = 'crds' | 'namespaces' | 'cluster' | 'namespaced';

/** The order of steps within a wave: CRDs, Namespaces, other cluster-scoped, namespaced. */
export const STEP_ORDER: StepKind[] = ['crds', 'namespaces', 'cluster', 'namespaced'];

/** Items grouped into waves, each wave into steps, in the order they are applied. */
export interface Ordered<T> {
  wave: number;
  steps: { kind: StepKind; items: T[] }[];
}

/** Whether an object is a CustomResourceDefinition. */
export function isCrd(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith('apiextensions.k8s.io/');
}

/** The step an object is applied in within its wave. */
export function stepOf(obj: KubeObject, namespaced: boolean): StepKind {
  if (isCrd(obj)) return 'crds';
  if (obj.kind === 'Namespace' && obj.apiVersion === 'v1') return 'namespaces';
  return namespaced ? 'namespaced' : 'cluster';
}

/** The object's wave: `strata.dev/wave: "N"` (an integer, may be negative), 0 without it. */
export function waveOf(obj: KubeObject): number {
  const raw = obj.metadata.annotations?.[WAVE_ANNOTATION];
  if (raw === undefined) return 0;
  if (!/^-?\d+$/.test(raw.trim())) {
    throw new Error(`annotation ${WAVE_ANNOTATION} must be an integer, got ${JSON.stringify(raw)}`);
  }
  return Number.parseInt(raw, 10);
}

/** Groups items into ascending waves, each split into the fixed step order (empty steps left out). */
export function orderIntoWaves<T>(
  items: T[],
  waveFor: (t: T) => number,
  stepFor: (t: T) => StepKind,
): Ordered<T>[] {
  const waves = new Map<number, Map<StepKind, T[]>>();
  for (const item of items) {
    const wave = waveFor(item);
    const steps = waves.get(wave) ?? new Map<StepKind, T[]>();
    waves.set(wave, steps);
    const step = stepFor(item);
    const list = steps.get(step);
    if (list) list.push(item);
    else steps.set(step, [item]);
  }
  return [...waves.keys()]
    .sort((a, b) => a - b)
    .map((wave) => {
      const steps = waves.get(wave)!;
      return {
        wave,
        steps: STEP_ORDER.filter((k) => steps.has(k)).map((kind) => ({ kind, items: steps.get(kind)! })),
      };
    });
}
