/**
 * The agent's logger: pino JSON with secrets redacted by path (tokens, passwords, authorization
 * headers) and Secret objects' values removed wherever an object is logged.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED } from '../../contract/redact.js';

/** Field paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'token',
  'password',
  'authorization',
  'Authorization',
  '*.token',
  '*.password',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'auth.username',
  'auth.password',
  '*.auth.password',
  'stringData',
  '*.stringData',
];

/** The agent's pino logger (JSON, secrets redacted by path), to pass down with child bindings. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { app: 'strata-agent' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { object: redactSecret, obj: redactSecret, live: redactSecret, desired: redactSecret },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A Secret keeps its keys (to show what changed) but never its values. */
export function redactSecret(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as { kind?: unknown; data?: unknown; stringData?: unknown };
  if (obj.kind !== 'Secret') return value;
  const hide = (d: unknown) =>
    typeof d === 'object' && d !== null ? Object.fromEntries(Object.keys(d).map((k) => [k, REDACTED])) : d;
  return { ...obj, data: hide(obj.data), stringData: hide(obj.stringData) };
}
