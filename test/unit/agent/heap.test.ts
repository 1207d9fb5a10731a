import { describe, expect, it } from 'vitest';
import { AGENT_HEAP_FLAGS, tuneHeapForAgent } from '../../../agent/src/heap.js';

describe('agent heap settings', () => {
  it('applies every setting when the operator gave none', () => {
    expect(tuneHeapForAgent([], '')).toEqual([...AGENT_HEAP_FLAGS]);
  });

  it('leaves a setting the operator chose on the command line or in NODE_OPTIONS to them', () => {
    expect(tuneHeapForAgent(['--max-semi-space-size=16'], '')).toEqual(['--heap-growing-percent=20']);
    expect(tuneHeapForAgent([], '--heap_growing_percent=50')).toEqual(['--semi-space-growth-factor=1']);
    expect(tuneHeapForAgent(['--semi-space-growth-factor=2'], '--heap-growing-percent=50')).toEqual([]);
  });
});
