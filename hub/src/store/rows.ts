/**
 * The rows both SQL stores read back (tokens, clusters, history, previews) and their mapping to the
 * records of store.ts: the tables have the same columns in SQLite and PostgreSQL, so one mapping
 * serves both. JSON columns are parsed here and nowhere else.
 */
import type { ReportSummary } from '../fleet/summary.js';
import type { ClusterRecord, HistoryEntry, PreviewRecord, TokenRecord } from './store.js';

/** A row of `tokens`. */
export interface TokenRow {
  id: string;
  cluster: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** The state columns of a reported cluster's row of `clusters`. */
export interface ClusterRow {
  name: string;
  labels: string;
  seq: number;
  received_at: number;
  summary: string;
}

/** A row of `reports`; `applied` is a BOOLEAN in PostgreSQL and 0/1 in SQLite. */
export interface HistoryRow {
  seq: number;
  received_at: number;
  created_at: string | null;
  applied: boolean | number;
  summary: string;
}

/** A row of `previews`: one cluster's latest plan for one ref. */
export interface PreviewRow {
  cluster: string;
  ref: string;
  seq: number;
  received_at: number;
  preview: string;
}

/** A token as the store answers it. */
export function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    cluster: row.cluster,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** A reported cluster's state as the store answers it. */
export function toCluster(row: ClusterRow): ClusterRecord {
  return {
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    seq: row.seq,
    receivedAt: row.received_at,
    summary: JSON.parse(row.summary) as ReportSummary,
  };
}

/** One history entry as the store answers it. */
export function toHistoryEntry(row: HistoryRow): HistoryEntry {
  return {
    seq: row.seq,
    receivedAt: row.received_at,
    createdAt: row.created_at,
    applied: row.applied === true || row.applied === 1,
    summary: JSON.parse(row.summary) as ReportSummary,
  };
}

/** One cluster's latest preview of a ref as the store answers it. */
export function toPreview(row: PreviewRow): PreviewRecord {
  return {
    cluster: row.cluster,
    ref: row.ref,
    seq: row.seq,
    receivedAt: row.received_at,
    preview: JSON.parse(row.preview),
  };
}
