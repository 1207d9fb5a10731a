import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYERS, parseTemplate, resolveLayers } from '../../../agent/src/render/layers.js';
import { objectById, renderFiles, renderOk } from './helpers.js';

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: default }\ndata: { v: ${value} }\n`;

describe('layer resolution', () => {
  it('uses global → regions/{labels.region} → clusters/{name} by default', () => {
    const { layers, skipped } = resolveLayers(
      { layers: DEFAULT_LAYERS },
      { name: 'a', labels: { region: 'r1' } },
    );
    expect(layers.map((l) => l.dir)).toEqual(['global', 'regions/r1', 'clusters/a']);
    expect(skipped).toEqual([]);
  });

  it('skips a layer whose template names a label the cluster lacks, and says why', () => {
    const { layers, skipped } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: 'a', labels: {} });
    expect(layers.map((l) => l.dir)).toEqual(['global', 'clusters/a']);
    expect(skipped).toEqual([
      { template: 'regions/{labels.region}', reason: "cluster has no label 'region'" },
    ]);
  });

  it('refuses a label value that would climb out of the layer folder', () => {
    const { layers, skipped } = resolveLayers(
      { layers: DEFAULT_LAYERS },
      { name: '..', labels: { region: 'a/b' } },
    );
    expect(layers.map((l) => l.dir)).toEqual(['global']);
    expect(skipped).toHaveLength(2);
  });

  it.each([['regions/{labels.region'], ['regions/{region}'], ['../outside'], ['/abs'], ['a/{labels.}']])(
    'rejects the malformed template %s',
    (template) => {
      expect(() => parseTemplate(template)).toThrow();
    },
  );

  it('later layers win: a cluster layer replaces the global definition', async () => {
    const result = await renderOk({
      'global/a.yaml': cm('a', 'global'),
      'clusters/prod-hz/a.yaml': cm('a', 'cluster'),
    });
    const a = objectById(result, '/ConfigMap/default/a');
    expect(a.object.data).toEqual({ v: 'cluster' });
    expect(a.provenance.layer).toBe('clusters/prod-hz');
    expect(a.provenance.replaced).toEqual([{ layer: 'global', file: 'global/a.yaml', doc: 0, line: 1 }]);
  });

  it('follows the layers strata.yaml declares, in its order', async () => {
    const result = await renderOk({
      'strata.yaml':
        'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: base\n  - path: envs/{labels.env}\n',
      'base/a.yaml': cm('a', 'base'),
      'envs/prod/a.yaml': cm('a', 'prod'),
      'global/b.yaml': cm('b', 'ignored'),
    });
    expect(result.objects.map((o) => o.id)).toEqual(['/ConfigMap/default/a']);
    expect(result.objects[0]!.object.data).toEqual({ v: 'prod' });
    expect(result.layers.map((l) => l.dir)).toEqual(['base', 'envs/prod']);
  });

  it('reports a malformed template in strata.yaml with its line', async () => {
    const result = await renderFiles({
      'strata.yaml':
        'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region\n',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({ code: 'config', file: 'strata.yaml', doc: 0, line: 5 });
  });
});
