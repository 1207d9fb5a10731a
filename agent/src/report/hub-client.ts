/**
 * Sending one report to the hub: `POST <hub>/api/v1/reports` with the cluster's bearer token (read
 * from its file at each send, so a rotated token is picked up) and an optional private CA. A report
 * that differs from the last one the hub stored only in its timestamps goes as a heartbeat
 * (`POST <hub>/api/v1/heartbeats`, contract/heartbeat.ts) naming that report's seq; a hub that
 * answers 409 (it does not hold that report) gets the full report at once, under the same seq.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Heartbeat } from '../../../contract/heartbeat.js';
import { REPORT_BODY } from '../../../contract/limits.js';
import type { ReportInput } from '../../../contract/report.js';
import type { HubConfig } from '../config/schema.js';
import { reportDigest } from './digest.js';
import { fitReport } from './fit.js';

const MIN_LIMIT_BYTES = REPORT_BODY.minShrunkBytes;

/** The answer of one delivery attempt. `retry: false` means the hub will never accept this report. */
export type SendResult = { ok: true } | { ok: false; retry: boolean; reason: string; status?: number };

/** Sends one report; the answer says whether to retry. */
export type SendReport = (report: ReportInput) => Promise<SendResult>;

type SenderConfig = Omit<HubConfig, 'maxReportBytes' | 'fullReportEvery'> & {
  maxReportBytes?: number;
  fullReportEvery?: number;
};

/** The last full report the hub answered as its current state. */
interface StoredReport {
  seq: number;
  digest: string;
  at: number;
}

/** A sender to the configured hub: fits each report under the body limit, halving it on a 413. */
export function hubSender(hub: SenderConfig, now: () => number = Date.now): SendReport {
  const base = hub.url.endsWith('/') ? hub.url : `${hub.url}/`;
  const reports = new URL('api/v1/reports', base);
  const heartbeats = new URL('api/v1/heartbeats', base);
  const ca = hub.caFile ? readFileSync(hub.caFile) : undefined;
  const fullEvery = hub.fullReportEvery ?? 3600_000;
  // A hub whose body limit is below ours answers 413: the limit shrinks for this process's life.
  let limit = hub.maxReportBytes ?? REPORT_BODY.defaultBytes;
  // Known only for this process's life: after a restart the first report is always full.
  let stored: StoredReport | undefined;
  // A hub without the heartbeat route (older than this agent) answers 404: full reports from then on.
  let heartbeatsAnswered = true;

  const sendFull = async (report: ReportInput, digest: string, token: string | undefined) => {
    for (;;) {
      const body = Buffer.from(JSON.stringify(fitReport(report, limit)));
      const { status, text } = await post(reports, body, token, ca, hub.timeout);
      if (status === 413 && limit > MIN_LIMIT_BYTES) {
        limit = Math.max(MIN_LIMIT_BYTES, Math.floor(Math.min(limit, body.length) / 2));
        continue;
      }
      const result = interpret(status, text);
      stored = result.ok && isCurrent(text, report.seq) ? { seq: report.seq, digest, at: now() } : undefined;
      return result;
    }
  };

  return async (report) => {
    const token = hub.tokenFile ? (await readFile(hub.tokenFile, 'utf8')).trim() : undefined;
    try {
      const digest = reportDigest(report);
      const last = stored;
      if (
        heartbeatsAnswered &&
        fullEvery > 0 &&
        last !== undefined &&
        last.digest === digest &&
        report.seq > last.seq &&
        now() - last.at < fullEvery
      ) {
        const beat: Heartbeat = {
          cluster: report.cluster,
          seq: report.seq,
          of: last.seq,
          ...(report.createdAt ? { createdAt: report.createdAt } : {}),
        };
        const { status, text } = await post(
          heartbeats,
          Buffer.from(JSON.stringify(beat)),
          token,
          ca,
          hub.timeout,
        );
        if (status === 404) heartbeatsAnswered = false;
        // 409: the hub does not hold report `of` (restored, replaced, or never got it): send it all.
        if (status !== 409 && status !== 404) {
          // `stale`: the hub holds a newer full report than ours (another writer): the next goes full.
          if (resultOf(text) === 'stale') stored = undefined;
          return interpret(status, text);
        }
      }
      return await sendFull(report, digest, token);
    } catch (err) {
      return { ok: false, retry: true, reason: `hub unreachable: ${(err as Error).message}` };
    }
  };
}

/** True when the hub's answer says this seq is now its current state (stored, or stored before). */
function isCurrent(text: string, seq: number): boolean {
  const answer = answerOf(text);
  return (answer.result === 'stored' || answer.result === 'duplicate') && answer.latestSeq === seq;
}

function resultOf(text: string): string | undefined {
  return answerOf(text).result;
}

function answerOf(text: string): { result?: string; latestSeq?: number } {
  try {
    const answer = JSON.parse(text) as unknown;
    return typeof answer === 'object' && answer !== null ? answer : {};
  } catch {
    return {};
  }
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
