/**
 * Sending one report to the hub: `POST <hub>/api/v1/reports` with the cluster's bearer token (read
 * from its file at each send, so a rotated token is picked up) and an optional private CA.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { REPORT_BODY } from '../../../contract/limits.js';
import type { ReportInput } from '../../../contract/report.js';
import type { HubConfig } from '../config/schema.js';
import { fitReport } from './fit.js';

const MIN_LIMIT_BYTES = REPORT_BODY.minShrunkBytes;

/** The answer of one delivery attempt. `retry: false` means the hub will never accept this report. */
export type SendResult = { ok: true } | { ok: false; retry: boolean; reason: string; status?: number };

export type SendReport = (report: ReportInput) => Promise<SendResult>;

export function hubSender(hub: Omit<HubConfig, 'maxReportBytes'> & { maxReportBytes?: number }): SendReport {
  const endpoint = new URL('api/v1/reports', hub.url.endsWith('/') ? hub.url : `${hub.url}/`);
  const ca = hub.caFile ? readFileSync(hub.caFile) : undefined;
  // A hub whose body limit is below ours answers 413: the limit shrinks for this process's life.
  let limit = hub.maxReportBytes ?? REPORT_BODY.defaultBytes;
  return async (report) => {
    const token = hub.tokenFile ? (await readFile(hub.tokenFile, 'utf8')).trim() : undefined;
    try {
      for (;;) {
        const body = Buffer.from(JSON.stringify(fitReport(report, limit)));
        const { status, text } = await post(endpoint, body, token, ca, hub.timeout);
        if (status === 413 && limit > MIN_LIMIT_BYTES) {
          limit = Math.max(MIN_LIMIT_BYTES, Math.floor(Math.min(limit, body.length) / 2));
          continue;
        }
        return interpret(status, text);
      }
    } catch (err) {
      return { ok: false, retry: true, reason: `hub unreachable: ${(err as Error).message}` };
    }
  };
}

/**
 * 2xx delivered (also a duplicate); 400/422 (a report the hub's schema refuses) can never succeed;
 * anything else is retried, 413 too: the sender shrinks the report, it is never set aside.
 */
export function interpret(status: number, text: string): SendResult {
  if (status >= 200 && status < 300) return { ok: true };
  const reason = `hub answered HTTP ${status}: ${text.slice(0, 500)}`;
  const permanent = status === 400 || status === 422;
  return { ok: false, retry: !permanent, reason, status };
}

/** POSTs a JSON body to the hub; resolves with the status and (at most 64 KiB of) the answer. */
export function post(
  url: URL,
  body: Buffer,
  token: string | undefined,
  ca: Buffer | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(ca ? { ca } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 64 * 1024) chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
