// The rollout section of strata.yaml: defaults, per-wave overrides, wave assignment, and errors
// that name the line of the field.
import { describe, expect, it } from 'vitest';
import { parseYamlFile } from '../../../agent/src/render/documents.js';
import { formatRenderError } from '../../../agent/src/render/index.js';
import { parseFleetConfig } from '../../../agent/src/render/layers.js';
import { DEFAULT_WAVE_POLICY, waveAt, waveCount, waveOf } from '../../../contract/rollout-rules.js';

function fleet(text: string) {
  return parseFleetConfig(parseYamlFile('strata.yaml', text).docs);
}

const GOOD = `apiVersion: strata.dev/v1
kind: Fleet
layers: [{ path: global }]
rollout:
  soak: 10m
  failureBudget: "25%"
  waves:
    - name: canary
      selector: tier=edge
      soak: 30s
    - name: prod
      selector: env=prod
      approval: manual
      maxConcurrent: 2
      offline: block
    - name: rest
`;

describe('rollout rules in strata.yaml', () => {
  it('reads waves with rollout-wide defaults and per-wave overrides', () => {
    const { config, errors } = fleet(GOOD);
    expect(errors).toEqual([]);
    const rules = config!.rollout!;
    expect(rules.waves.map((w) => [w.name, w.selector])).toEqual([
      ['canary', 'tier=edge'],
      ['prod', 'env=prod'],
      ['rest', null],
    ]);
    expect(rules.waves[0]!.policy).toMatchObject({ soakMs: 30_000, failureBudget: { percent: 25 } });
    expect(rules.waves[1]!.policy).toMatchObject({
      soakMs: 600_000,
      approval: true,
      maxConcurrent: 2,
      offline: 'block',
      offlineGraceMs: DEFAULT_WAVE_POLICY.offlineGraceMs,
    });
    expect(waveOf(rules, { tier: 'edge', env: 'prod' })).toBe(0);
    expect(waveOf(rules, { env: 'prod' })).toBe(1);
    expect(waveOf(rules, {})).toBe(2);
    expect(waveCount(rules)).toBe(3);
  });

  it('puts clusters no wave selects in a trailing unlisted wave', () => {
    const { config } = fleet(GOOD.replace('    - name: rest\n', ''));
    const rules = config!.rollout!;
    expect(waveOf(rules, { env: 'dev' })).toBe(2);
    expect(waveAt(rules, 2).name).toBe('unlisted');
    expect(waveCount(rules)).toBe(3);
  });

  it('has no rollout without the section: every cluster applies at once', () => {
    expect(
      fleet('apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n').config?.rollout,
    ).toBeUndefined();
  });

  it('names the line and field of every mistake', () => {
    const bad = `apiVersion: strata.dev/v1
kind: Fleet
layers: [{ path: global }]
rollout:
  soak: soon
  waves:
    - name: canary
    - name: Prod
      selector: "env in (prod"
      failureBudget: 150%
      maxConcurrent: 0
      approval: maybe
      offline: wait
      colour: blue
    - name: canary
      selector: x=y
`;
    const { config, errors } = fleet(bad);
    expect(config).toBeUndefined();
    const shown = errors.map((e) => formatRenderError(e));
    const expected: [number, RegExp][] = [
      [5, /soak must be a duration/],
      [7, /waves\[0\] needs a selector: only the last wave may be "the rest"/],
      [8, /waves\[1\]\.name must be a DNS label/],
      [9, /selector: /],
      [10, /failureBudget must be a count/],
      [11, /maxConcurrent must be an integer of at least 1/],
      [12, /approval must be 'manual' or 'none'/],
      [13, /offline must be 'skip'/],
      [14, /unknown field 'colour'/],
      [15, /wave name 'canary' is used twice/],
    ];
    for (const [line, message] of expected) {
      const found = errors.find((e) => e.line === line && message.test(e.message));
      expect(found, `line ${line}: ${message} in\n${shown.join('\n')}`).toBeDefined();
      expect(found!.file).toBe('strata.yaml');
    }
  });
});
