import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { AGENT_V8_FLAGS, collectWhenIdle, tuneV8ForAgent } from '../../../agent/src/memory.js';

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

  it('runs one full garbage collection once work has paused for the delay', async () => {
    tuneV8ForAgent([], '');
    let majors = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
          majors++;
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      for (let i = 0; i < 3; i++) {
        collectWhenIdle(300);
        await sleep(100);
      }
      expect(majors).toBe(0);
      await sleep(600);
      expect(majors).toBeGreaterThanOrEqual(1);
    } finally {
      observer.disconnect();
    }
  });
});
