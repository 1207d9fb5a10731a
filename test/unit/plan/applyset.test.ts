import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  applySetId,
  GROUP_KINDS_ANNOTATION,
  groupKindOf,
  ID_LABEL,
  inventoryFor,
  inventoryOf,
  NAMESPACES_ANNOTATION,
  PART_OF_LABEL,
  parentObject,
  parseGroupKind,
  TOOLING_ANNOTATION,
  withMembership,
} from '../../../agent/src/inventory/applyset.js';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { deletionRank, selectPrune } from '../../../agent/src/prune/select.js';

const cm = (name: string, namespace = 'app', annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
});
const idOf = (o: KubeObject) => `/ConfigMap/${o.metadata.namespace}/${o.metadata.name}`;

describe('ApplySet naming (KEP-3659)', () => {
  it('derives the id from the parent as base64url(sha256("name.namespace.Kind.group")) with the applyset-/-v1 wrapping', () => {
    const expected = createHash('sha256').update('strata.strata-system.Secret.').digest('base64url');
    const id = applySetId({ name: 'strata', namespace: 'strata-system' });
    expect(id).toBe(`applyset-${expected}-v1`);
  });

  it('gives an id that is a valid label value (≤63 chars, no padding, alphanumeric ends)', () => {
    const id = applySetId({ name: 'a-very-long-applyset-name-for-a-cluster', namespace: 'ns' });
    expect(id.length).toBeLessThanOrEqual(63);
    expect(id).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    expect(id).not.toContain('=');
  });

  it('differs for different parents', () => {
    expect(applySetId({ name: 'a', namespace: 'x' })).not.toBe(applySetId({ name: 'a', namespace: 'y' }));
  });

  it('writes group-kinds as Kind.group (core kinds bare), sorted, and additional namespaces', () => {
    const objects: KubeObject[] = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', namespace: 'shop' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      cm('c', 'strata-system'),
    ];
    const parentRef = { name: 'strata', namespace: 'strata-system' };
    const inv = inventoryFor(objects, parentRef);
    expect(inv).toEqual({ groupKinds: ['ConfigMap', 'Deployment.apps', 'Namespace'], namespaces: ['shop'] });
    const parent = parentObject(parentRef, inv);
    expect(parent.metadata.labels?.[ID_LABEL]).toBe(applySetId(parentRef));
    expect(parent.metadata.annotations?.[GROUP_KINDS_ANNOTATION]).toBe('ConfigMap,Deployment.apps,Namespace');
    expect(parent.metadata.annotations?.[NAMESPACES_ANNOTATION]).toBe('shop');
    expect(parent.metadata.annotations?.[TOOLING_ANNOTATION]).toMatch(/^strata\/v\d+\.\d+\.\d+/);
    expect(inventoryOf(parent)).toEqual(inv);
  });

  it('parses group-kinds back, including groups with dots', () => {
    expect(parseGroupKind('Widget.example.com')).toEqual({ kind: 'Widget', group: 'example.com' });
    expect(parseGroupKind('Secret')).toEqual({ kind: 'Secret', group: '' });
    expect(groupKindOf({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' })).toBe(
      'CustomResourceDefinition.apiextensions.k8s.io',
    );
  });

  it('labels members without touching the input', () => {
    const o = cm('a');
    const m = withMembership(o, 'applyset-x-v1');
    expect(m.metadata.labels?.[PART_OF_LABEL]).toBe('applyset-x-v1');
    expect(o.metadata.labels).toBeUndefined();
  });
});

describe('selectPrune', () => {
  const members = [cm('a'), cm('b'), cm('c'), cm('d')];
  const safety = { maxFraction: 0.5, allowLarge: false };

  it('selects only members the render no longer holds', () => {
    const s = selectPrune(
      members,
      new Set(['a', 'b', 'c'].map((n) => idOf(cm(n)))),
      { failed: false },
      safety,
    );
    expect(s.remove.map((o) => o.metadata.name)).toEqual(['d']);
    expect(s.refused).toBeUndefined();
  });

  it('keeps members annotated strata.dev/prune: "false"', () => {
    const kept = cm('k', 'app', { 'strata.dev/prune': 'false' });
    const s = selectPrune([...members, kept], new Set(members.map(idOf)), { failed: false }, safety);
    expect(s.remove).toEqual([]);
    expect(s.keep).toEqual([kept]);
  });

  it('refuses when the render failed', () => {
    const s = selectPrune(members, new Set([idOf(cm('a'))]), { failed: true }, safety);
    expect(s.refused).toMatch(/render failed/);
  });

  it('refuses when the render is empty, even if large prunes are allowed', () => {
    const s = selectPrune(members, new Set(), { failed: false }, { maxFraction: 1, allowLarge: true });
    expect(s.refused).toMatch(/no objects/);
  });

  it('refuses to prune more than the allowed fraction of the set, and says how much', () => {
    const s = selectPrune(members, new Set([idOf(cm('a'))]), { failed: false }, safety);
    expect(s.refused).toContain('3 of 4 members (75%)');
    expect(s.remove).toHaveLength(3);
  });

  it('prunes exactly the allowed fraction, and more when explicitly allowed', () => {
    const half = selectPrune(members, new Set([idOf(cm('a')), idOf(cm('b'))]), { failed: false }, safety);
    expect(half.refused).toBeUndefined();
    const allowed = selectPrune(
      members,
      new Set([idOf(cm('a'))]),
      { failed: false },
      { maxFraction: 0.5, allowLarge: true },
    );
    expect(allowed.refused).toBeUndefined();
    expect(allowed.remove).toHaveLength(3);
  });

  it('deletes namespaced objects before cluster-scoped ones, Namespaces and CRDs last', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } };
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'w.example.com' },
    };
    const role: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'r' },
    };
    const ranks = [crd, ns, role, cm('a')].map(deletionRank);
    expect(ranks).toEqual([3, 2, 1, 0]);
  });
});
