import { describe, expect, it } from 'vitest';
import { matchesSelector, parseSelector, SelectorSyntaxError } from '../../../contract/selector.js';

const labels = { env: 'prod', region: 'cn-hangzhou', tier: 'web' };
const matches = (text: string, l: Record<string, string> = labels) => matchesSelector(parseSelector(text), l);

describe('label selectors', () => {
  it('= and == match equal values', () => {
    expect(matches('env=prod')).toBe(true);
    expect(matches('env==prod')).toBe(true);
    expect(matches('env=staging')).toBe(false);
  });

  it('!= matches a different value and a missing label', () => {
    expect(matches('env!=staging')).toBe(true);
    expect(matches('env!=prod')).toBe(false);
    expect(matches('zone!=a')).toBe(true);
  });

  it('in and notin match value sets; notin also matches a missing label', () => {
    expect(matches('region in (cn-shanghai, cn-hangzhou)')).toBe(true);
    expect(matches('region in (cn-shanghai)')).toBe(false);
    expect(matches('region notin (cn-shanghai)')).toBe(true);
    expect(matches('region notin (cn-hangzhou,x)')).toBe(false);
    expect(matches('zone notin (a)')).toBe(true);
  });

  it('key and !key test existence', () => {
    expect(matches('tier')).toBe(true);
    expect(matches('!tier')).toBe(false);
    expect(matches('!edge')).toBe(true);
  });

  it('all requirements must hold', () => {
    expect(matches('env=prod,region in (cn-hangzhou),!edge')).toBe(true);
    expect(matches('env=prod,tier!=web')).toBe(false);
  });

  it('the empty selector matches every cluster', () => {
    expect(matches('')).toBe(true);
  });

  it('accepts prefixed keys', () => {
    expect(matches('topology.kubernetes.io/zone=a', { 'topology.kubernetes.io/zone': 'a' })).toBe(true);
  });

  it.each([
    ['env=prod,', /empty requirement/],
    ['env in (a,b', /unbalanced/],
    ['env in ()', /invalid label value|at least one value/],
    ['env=pr od', /cannot parse|invalid/],
    ['-bad=x', /invalid label key/],
    [`env=${'x'.repeat(64)}`, /invalid label value/],
    ['env >= 3', /cannot parse|invalid/],
  ])('rejects %s', (text, message) => {
    expect(() => parseSelector(text)).toThrow(message);
  });

  it('names the 0-based position of the requirement that does not parse', () => {
    const positionOf = (text: string) => {
      try {
        parseSelector(text);
      } catch (e) {
        if (e instanceof SelectorSyntaxError) return e.position;
        throw e;
      }
      return 'parsed';
    };
    expect(positionOf('env=prod,=x')).toBe(9);
    expect(positionOf('env=prod,  =x')).toBe(11);
    expect(positionOf('env=pr od')).toBe(0);
    expect(positionOf('env in (prod')).toBe(11);
  });
});
