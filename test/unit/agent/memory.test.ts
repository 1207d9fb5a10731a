import { describe, expect, it } from 'vitest';
import { AGENT_V8_FLAGS, tuneV8ForAgent } from '../../../agent/src/memory.js';

describe('agent V8 settings', () => {
  it('applies every setting when the operator gave none', () => {
    expect(tuneV8ForAgent([], '')).toEqual([...AGENT_V8_FLAGS]);
  });

  it('leaves a setting the operator chose on the command line or in NODE_OPTIONS to them', () => {
    expect(tuneV8ForAgent(['--max-semi-space-size=16'], '')).toEqual([
      '--heap-growing-percent=20',
      '--max-opt=1',
    ]);
    expect(tuneV8ForAgent([], '--heap_growing_percent=50 --turbofan')).toEqual([
      '--semi-space-growth-factor=1',
    ]);
    expect(
      tuneV8ForAgent(['--semi-space-growth-factor=2', '--max-opt=3'], '--heap-growing-percent=50'),
    ).toEqual([]);
  });
});
