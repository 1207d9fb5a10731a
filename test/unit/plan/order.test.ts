import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../../agent/src/kube/pool.js';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { orderIntoWaves, stepOf, waveOf } from '../../../agent/src/plan/order.js';

const o = (apiVersion: string, kind: string, name: string, namespaced: boolean, wave?: string) => ({
  obj: {
    apiVersion,
    kind,
    metadata: { name, ...(wave !== undefined ? { annotations: { 'strata.dev/wave': wave } } : {}) },
  } as KubeObject,
  namespaced,
});

describe('apply order', () => {
  it('puts CRDs, then Namespaces, then cluster-scoped, then namespaced objects in each wave', () => {
    const items = [
      o('apps/v1', 'Deployment', 'web', true),
      o('v1', 'Namespace', 'shop', false),
      o('rbac.authorization.k8s.io/v1', 'ClusterRole', 'r', false),
      o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'w.example.com', false),
      o('example.com/v1', 'Widget', 'w', true),
    ];
    const waves = orderIntoWaves(
      items,
      (i) => waveOf(i.obj),
      (i) => stepOf(i.obj, i.namespaced),
    );
    expect(waves).toHaveLength(1);
    expect(waves[0]!.steps.map((s) => [s.kind, s.items.map((i) => i.obj.metadata.name)])).toEqual([
      ['crds', ['w.example.com']],
      ['namespaces', ['shop']],
      ['cluster', ['r']],
      ['namespaced', ['web', 'w']],
    ]);
  });

  it('orders waves numerically, negative first, unannotated objects in wave 0', () => {
    const items = [
      o('v1', 'ConfigMap', 'late', true, '10'),
      o('v1', 'ConfigMap', 'mid', true),
      o('v1', 'ConfigMap', 'early', true, '-1'),
      o('v1', 'ConfigMap', 'two', true, '2'),
    ];
    const waves = orderIntoWaves(
      items,
      (i) => waveOf(i.obj),
      (i) => stepOf(i.obj, i.namespaced),
    );
    expect(waves.map((w) => [w.wave, w.steps[0]!.items[0]!.obj.metadata.name])).toEqual([
      [-1, 'early'],
      [0, 'mid'],
      [2, 'two'],
      [10, 'late'],
    ]);
  });

  it('rejects a wave annotation that is not an integer, naming the value', () => {
    expect(() => waveOf(o('v1', 'ConfigMap', 'x', true, 'soon').obj)).toThrow(
      /strata\.dev\/wave must be an integer, got "soon"/,
    );
    expect(() => waveOf(o('v1', 'ConfigMap', 'x', true, '1.5').obj)).toThrow(/integer/);
  });

  it('runs at most the given number of tasks at once and keeps result order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3, 0], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });
});
