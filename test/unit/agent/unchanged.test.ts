// The no-op shortcut's decisions: when the evidence of two reads is the same, and when a reconcile
// may skip render and plan (the apiserver side is in test/e2e/loop-unchanged.test.ts).
import { describe, expect, it } from 'vitest';
import { SourceConfig } from '../../../agent/src/config/schema.js';
import { maySkip, mustFullVerify, type QuietSync, renderInputs } from '../../../agent/src/loop/unchanged.js';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { evidenceOf, sameEvidence } from '../../../agent/src/sync/evidence.js';

const obj = (name: string, rv?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'a', ...(rv ? { resourceVersion: rv } : {}) },
});
const parent = obj('strata-x', '7');
const KINDS = ['ConfigMap', 'Namespace'];

describe('sameEvidence', () => {
  const base = evidenceOf(parent, KINDS, [obj('one', '10'), obj('two', '11')]);

  it('holds for the same resourceVersions in any order', () => {
    expect(
      sameEvidence(base, evidenceOf(parent, [...KINDS].reverse(), [obj('two', '11'), obj('one', '10')])),
    ).toBe(true);
  });

  it('fails when a member was written, deleted or added, or the parent moved', () => {
    expect(sameEvidence(base, evidenceOf(parent, KINDS, [obj('one', '12'), obj('two', '11')]))).toBe(false);
    expect(sameEvidence(base, evidenceOf(parent, KINDS, [obj('one', '10')]))).toBe(false);
    expect(
      sameEvidence(base, evidenceOf(parent, KINDS, [obj('one', '10'), obj('two', '11'), obj('three', '13')])),
    ).toBe(false);
    expect(
      sameEvidence(base, evidenceOf(obj('strata-x', '8'), KINDS, [obj('one', '10'), obj('two', '11')])),
    ).toBe(false);
    expect(sameEvidence(base, evidenceOf(parent, ['ConfigMap'], [obj('one', '10'), obj('two', '11')]))).toBe(
      false,
    );
  });

  it('never holds without a parent or for objects without a resourceVersion', () => {
    const noParent = evidenceOf(undefined, [], []);
    expect(sameEvidence(noParent, evidenceOf(undefined, [], []))).toBe(false);
    const noVersion = evidenceOf(parent, KINDS, [obj('one')]);
    expect(sameEvidence(noVersion, evidenceOf(parent, KINDS, [obj('one')]))).toBe(false);
  });
});

describe('maySkip and mustFullVerify', () => {
  const source = { ...SourceConfig.parse({ url: '/fleet' }), name: 'fleet' };
  const inputs = renderInputs(source, 'c1', { name: 'hz', labels: { region: 'cn' } }, undefined);
  const quiet = (skipped: number): QuietSync => ({
    inputs,
    evidence: evidenceOf(parent, KINDS, []),
    sections: { sync: { phase: 'Synced' } as never, health: null, drift: [] },
    skipped,
  });

  it('skips only with the same render inputs', () => {
    expect(maySkip(undefined, inputs, 10)).toBe(false);
    expect(maySkip(quiet(0), inputs, 10)).toBe(true);
    for (const other of [
      renderInputs(source, 'c2', { name: 'hz', labels: { region: 'cn' } }, undefined),
      renderInputs(source, 'c1', { name: 'hz', labels: { region: 'sh' } }, undefined),
      renderInputs({ ...source, path: 'fleet' }, 'c1', { name: 'hz', labels: { region: 'cn' } }, undefined),
      renderInputs(source, 'c1', { name: 'hz', labels: { region: 'cn' } }, { kubeVersion: 'v1.36.0' }),
    ]) {
      expect(maySkip(quiet(0), other, 10)).toBe(false);
      expect(mustFullVerify(quiet(9), other, 10)).toBe(false);
    }
  });

  it('lets every fullVerifyEvery-th reconcile verify everything', () => {
    expect([0, 1, 2, 3].map((n) => maySkip(quiet(n), inputs, 4))).toEqual([true, true, true, false]);
    expect([0, 1, 2, 3].map((n) => mustFullVerify(quiet(n), inputs, 4))).toEqual([false, false, false, true]);
    // 1: every reconcile verifies; 0: never periodically.
    expect(maySkip(quiet(0), inputs, 1)).toBe(false);
    expect(maySkip(quiet(1000), inputs, 0)).toBe(true);
    expect(mustFullVerify(quiet(1000), inputs, 0)).toBe(false);
  });
});
