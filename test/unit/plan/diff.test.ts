import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { diffFields } from '../../../agent/src/plan/diff.js';
import { canonicalJson, hashOf } from '../../../agent/src/plan/hash.js';
import { normalise } from '../../../agent/src/plan/normalise.js';
import { redactObject, sensitivePaths } from '../../../agent/src/plan/secrets.js';
import { REDACTED } from '../../../contract/redact.js';

const live: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2024-01-01T00:00:00Z',
    managedFields: [{ manager: 'strata' }],
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}' },
  },
  spec: { replicas: 2 },
  status: { replicas: 2 },
};

describe('normalise', () => {
  it('drops server bookkeeping, the last-applied annotation and status, keeping everything else', () => {
    const n = normalise(live);
    expect(n).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { replicas: 2 },
    });
    expect(live.metadata.uid).toBe('u-1'); // the input is untouched
  });

  it('keeps other annotations when removing the last-applied one', () => {
    const n = normalise({
      ...live,
      metadata: {
        ...live.metadata,
        annotations: { a: '1', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    expect(n.metadata.annotations).toEqual({ a: '1' });
  });

  it('makes a live object and its dry-run result with only bookkeeping differences compare equal', () => {
    const dryRun = {
      ...live,
      metadata: { ...live.metadata, resourceVersion: '43', generation: 4, managedFields: [] },
      status: {},
    };
    expect(diffFields(normalise(live), normalise(dryRun))).toEqual([]);
  });
});

describe('diffFields', () => {
  it('reports a changed scalar with its path, before and after', () => {
    expect(diffFields({ spec: { replicas: 2 } }, { spec: { replicas: 5 } })).toEqual([
      { path: '.spec.replicas', op: 'replace', before: 2, after: 5 },
    ]);
  });

  it('reports added and removed fields', () => {
    expect(diffFields({ a: 1 }, { b: 2 })).toEqual([
      { path: '.a', op: 'remove', before: 1 },
      { path: '.b', op: 'add', after: 2 },
    ]);
  });

  it('compares lists of named items by name, so reordering is not a change and paths name the item', () => {
    const before = {
      containers: [
        { name: 'web', image: 'web:1' },
        { name: 'side', image: 's:1' },
      ],
    };
    const after = {
      containers: [
        { name: 'side', image: 's:1' },
        { name: 'web', image: 'web:2' },
      ],
    };
    expect(diffFields(before, after)).toEqual([
      { path: '.containers[name=web].image', op: 'replace', before: 'web:1', after: 'web:2' },
    ]);
  });

  it('compares other lists by index, and a length change as one change of the whole list', () => {
    expect(diffFields({ args: ['a', 'b'] }, { args: ['a', 'c'] })).toEqual([
      { path: '.args[1]', op: 'replace', before: 'b', after: 'c' },
    ]);
    expect(diffFields({ args: ['a'] }, { args: ['a', 'b'] })).toEqual([
      { path: '.args', op: 'replace', before: ['a'], after: ['a', 'b'] },
    ]);
  });

  it('quotes keys that are not plain identifiers', () => {
    expect(diffFields({ labels: {} }, { labels: { 'app.kubernetes.io/name': 'web' } })).toEqual([
      { path: '.labels["app.kubernetes.io/name"]', op: 'add', after: 'web' },
    ]);
  });

  it('finds nothing between deeply equal values with different key order', () => {
    expect(diffFields({ a: { x: 1, y: [1, { z: 2 }] } }, { a: { y: [1, { z: 2 }], x: 1 } })).toEqual([]);
  });
});

describe('Secret values', () => {
  const secret = (data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data,
  });

  it('shows which keys changed, never their values', () => {
    const before = secret({ user: 'YWRtaW4=', password: 'aHVudGVyMg==' });
    const after = secret({ user: 'YWRtaW4=', password: 'c2VjcmV0', token: 'dG9rZW4=' });
    const changes = diffFields(before, after, sensitivePaths(after));
    expect(changes).toEqual([
      { path: '.data.password', op: 'replace', redacted: true },
      { path: '.data.token', op: 'add', redacted: true },
    ]);
    const printed = JSON.stringify(changes);
    for (const value of ['aHVudGVyMg==', 'c2VjcmV0', 'dG9rZW4=']) expect(printed).not.toContain(value);
  });

  it('splits a whole data map appearing into per-key entries without values', () => {
    const changes = diffFields({ kind: 'Secret' }, { kind: 'Secret', stringData: { 'tls.key': 'PRIVATE' } }, [
      '.data',
      '.stringData',
    ]);
    expect(changes).toEqual([{ path: '.stringData["tls.key"]', op: 'add', redacted: true }]);
  });

  it('redactObject keeps keys, hides values and drops the last-applied copy', () => {
    const s = secret({ password: 'aHVudGVyMg==' });
    s.metadata.annotations = {
      'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}',
    };
    const r = redactObject(s);
    expect(r.data).toEqual({ password: REDACTED });
    expect(JSON.stringify(r)).not.toContain('aHVudGVyMg==');
    expect(s.data).toEqual({ password: 'aHVudGVyMg==' });
  });

  it('does not treat a ConfigMap data field as secret', () => {
    expect(sensitivePaths({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual([]);
    expect(diffFields({ data: { a: '1' } }, { data: { a: '2' } }, [])).toEqual([
      { path: '.data.a', op: 'replace', before: '1', after: '2' },
    ]);
  });
});

describe('hashOf', () => {
  it('is independent of key order and changes with any value', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1, b: 2 })).not.toBe(hashOf({ a: 1, b: 3 }));
  });
});
