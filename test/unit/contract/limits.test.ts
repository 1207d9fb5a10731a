import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../../agent/src/config/schema.js';
import { REPORT_BODY, REPORT_CONTENT } from '../../../contract/limits.js';
import { ReportError } from '../../../contract/report.js';
import { DEFAULT_SETTINGS } from '../../../hub/src/server.js';

describe('report limits shared by the agent and the hub', () => {
  it('gives the agent and the hub the same default body limit', () => {
    const hub = HubConfig.parse({ url: 'http://hub.example' });
    expect(hub.maxReportBytes).toBe(REPORT_BODY.defaultBytes);
    expect(DEFAULT_SETTINGS.bodyLimit).toBe(REPORT_BODY.defaultBytes);
  });

  it('keeps the agent configuration inside the shared bounds', () => {
    const at = (n: number) => HubConfig.safeParse({ url: 'http://hub.example', maxReportBytes: n }).success;
    expect(at(REPORT_BODY.minConfiguredBytes)).toBe(true);
    expect(at(REPORT_BODY.minConfiguredBytes - 1)).toBe(false);
    expect(at(REPORT_BODY.maxConfiguredBytes)).toBe(true);
    expect(at(REPORT_BODY.maxConfiguredBytes + 1)).toBe(false);
  });

  it('lets the hub accept every message the agent writes, and no text over the schema bound', () => {
    expect(REPORT_CONTENT.maxMessageChars).toBeLessThan(REPORT_CONTENT.maxTextChars);
    const error = (n: number) => ReportError.safeParse({ reason: 'X', message: 'm'.repeat(n) }).success;
    expect(error(REPORT_CONTENT.maxMessageChars)).toBe(true);
    expect(error(REPORT_CONTENT.maxTextChars + 1)).toBe(false);
  });
});
