import { describe, expect, it } from 'vitest';
import { parseYamlFile } from '../../../agent/src/render/documents.js';
import { renderOk } from './helpers.js';

const valuesOf = (text: string) => {
  const { docs, errors } = parseYamlFile('a.yaml', text);
  expect(errors.map((e) => e.message)).toEqual([]);
  return docs.map((d) => d.value);
};

describe('reading YAML as kubectl does', () => {
  it('expands `kind: List` into its items, each located at its own line', () => {
    const { docs } = parseYamlFile(
      'l.yaml',
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n',
    );
    expect(docs.map((d) => d.value)).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' } },
    ]);
    expect(docs.map((d) => d.locate([]).line)).toEqual([4, 7]);
    expect(docs[1]!.locate(['metadata', 'name'])).toEqual({ line: 10, column: 11 });
  });

  it('expands v1 *List kinds, and leaves a kind that only ends in List alone elsewhere', () => {
    const list = valuesOf(
      'apiVersion: v1\nkind: ConfigMapList\nitems: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}]\n',
    );
    expect(list).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }]);
    const crd = valuesOf('apiVersion: x.example.com/v1\nkind: PlayList\nmetadata: {name: p}\nitems: [a]\n');
    expect(crd).toEqual([
      { apiVersion: 'x.example.com/v1', kind: 'PlayList', metadata: { name: 'p' }, items: ['a'] },
    ]);
  });

  it('renders a file with a few dozen aliases', async () => {
    const env = Array.from({ length: 40 }, (_, i) => `      - name: c${i}\n        env: *env\n`).join('');
    const result = await renderOk({
      'global/d.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: app}\nspec:\n  template:\n    metadata:\n      annotations: &env {a: "1", b: "2", c: "3"}\n    spec:\n      containers:\n${env.replaceAll('env: *env', 'env: [{name: X, value: "1"}]\n        resources: {limits: *env}')}`,
    });
    const spec = (
      result.objects[0]!.object as unknown as { spec: { template: { spec: { containers: unknown[] } } } }
    ).spec;
    expect(spec.template.spec.containers).toHaveLength(40);
    expect(spec.template.spec.containers[39]).toEqual({
      name: 'c39',
      env: [{ name: 'X', value: '1' }],
      resources: { limits: { a: '1', b: '2', c: '3' } },
    });
  });

  it('refuses a billion-laughs document quickly, before expanding it', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`,
      );
    }
    const started = performance.now();
    const { docs, errors } = parseYamlFile('bomb.yaml', `${levels.join('\n')}\n`);
    expect(docs).toEqual([]);
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [4, 'document contains excessive aliasing; refused'],
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('reports a recursive alias, and an alias to an unknown anchor, at their place', () => {
    const { errors } = parseYamlFile('a.yaml', 'a: &a\n  b: *a\n');
    expect(errors.map((e) => [e.line, e.column, e.message])).toEqual([
      [2, 6, "anchor 'a' value contains itself"],
    ]);
  });

  it('refuses NaN and infinities, which have no JSON form (kubectl fails on them too)', () => {
    const { errors } = parseYamlFile('a.yaml', 'a: 1\nb: .nan\n---\nc: [1, -.Inf]\n---\nd: !!float nope\n');
    expect(errors.map((e) => [e.doc, e.line, e.column, e.message])).toEqual([
      [0, 2, 4, 'NaN has no JSON value; write it quoted if it is text'],
      [1, 4, 8, '-Infinity has no JSON value; write it quoted if it is text'],
      [2, 6, 4, "cannot decode !!str 'nope' as a !!float"],
    ]);
  });
});
