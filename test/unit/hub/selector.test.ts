import { describe, expect, it } from 'vitest';
import { matchesSelector, parseSelector, SelectorError } from '../../../hub/src/fleet/selector.js';

const labels = { env: 'prod', region: 'eu-west', tier: 'edge' };
const matches = (text: string, on: Record<string, string> = labels) =>
  matchesSelector(parseSelector(text), on);

describe('label selectors', () => {
  it('selects everything with an empty selector', () => {
    expect(parseSelector('')).toEqual([]);
    expect(matches('')).toBe(true);
  });

  it('supports =, == and != (absent keys satisfy !=)', () => {
    expect(matches('env=prod')).toBe(true);
    expect(matches('env==prod')).toBe(true);
    expect(matches('env=stage')).toBe(false);
    expect(matches('env!=stage')).toBe(true);
    expect(matches('zone!=a')).toBe(true);
    expect(matches('env!=prod')).toBe(false);
  });

  it('supports in / notin with commas inside the parentheses', () => {
    expect(matches('region in (eu-west, us-east)')).toBe(true);
    expect(matches('region in (us-east)')).toBe(false);
    expect(matches('region notin (us-east,ap)')).toBe(true);
    expect(matches('zone notin (a)')).toBe(true);
    expect(matches('zone in (a)')).toBe(false);
  });

  it('supports existence and non-existence', () => {
    expect(matches('tier')).toBe(true);
    expect(matches('!tier')).toBe(false);
    expect(matches('!canary')).toBe(true);
  });

  it('ANDs requirements together', () => {
    expect(matches('env=prod, region in (eu-west), !canary')).toBe(true);
    expect(matches('env=prod,tier!=edge')).toBe(false);
  });

  it('accepts prefixed keys like example.com/team', () => {
    expect(matches('example.com/team=core', { 'example.com/team': 'core' })).toBe(true);
  });

  it('rejects broken selectors with the position', () => {
    expect(() => parseSelector('env in (prod')).toThrow(SelectorError);
    expect(() => parseSelector('env=prod,=x')).toThrow(/at character 10/);
    expect(() => parseSelector('env=pr od')).toThrow(/not a valid label value/);
    expect(() => parseSelector('env prod')).toThrow(/expected/);
  });
});
