import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYERS, parseTemplate, resolveLayers } from '../../../agent/src/render/layers.js';
import { objectById, renderFiles, renderOk } from './helpers.js';

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: default }\ndata: { v: ${value} }\n`;

describe('layer resolution', () => {
  it('uses global → regions/{labels.region} → clusters/{name} by default', () => {
    const { layers } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: 'a', labels: { region: 'r1' } });
    expect(layers).toEqual([
      { template: 'global', dir: 'global' },
      { template: 'regions/{labels.region}', dir: 'regions/r1' },
      { template: 'clusters/{name}', dir: 'clusters/a' },
    ]);
  });

  it('skips a layer whose template names a label the cluster lacks, and says why', () => {
    const { layers } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: 'a', labels: {} });
    expect(layers).toEqual([
      { template: 'global', dir: 'global' },
      { template: 'regions/{labels.region}', reason: "cluster has no label 'region'" },
      { template: 'clusters/{name}', dir: 'clusters/a' },
    ]);
  });

  it('refuses a label value that would climb out of the layer folder', () => {
    const { layers } = resolveLayers({ layers: DEFAULT_LAYERS }, { name: '..', labels: { region: 'a/b' } });
    expect(layers).toEqual([
      { template: 'global', dir: 'global' },
      { template: 'regions/{labels.region}', reason: "value 'a/b' cannot name a folder" },
      { template: 'clusters/{name}', reason: "value '..' cannot name a folder" },
    ]);
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
    expect(result.layers).toEqual([
      { template: 'base', dir: 'base', used: true },
      { template: 'envs/{labels.env}', dir: 'envs/prod', used: true },
    ]);
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
