/**
 * The writer thread: commits report batches on its own connection, so the fsync of
 * `synchronous=FULL` never blocks the hub's event loop. Reads stay on the main connection (WAL lets
 * them run beside the writer).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, type Synchronous } from './sqlite-db.js';
import { decodeHeartbeats, decodeRows, ReportWrites } from './sqlite-writes.js';
import type { RetentionPolicy } from './store.js';

/** What the writer thread is started with: the database file, its durability and the retention policy. */
export interface WriterData {
  file: string;
  synchronous: Synchronous;
  retention: RetentionPolicy;
}

/** One message to the writer thread: a batch to commit, answered with the same `id`. */
export interface WriterRequest {
  id: number;
  /** A batch of reports, encoded by `encodeRows`, or of heartbeats, encoded by `encodeHeartbeats`. */
  rows?: string;
  heartbeats?: string;
}

const data = workerData as WriterData;
const db = openDatabase(data.file, data.synchronous, false);
const writes = new ReportWrites(db, data.retention);

parentPort!.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    const results =
      request.heartbeats !== undefined
        ? writes.saveHeartbeats(decodeHeartbeats(request.heartbeats))
        : writes.save(decodeRows(request.rows ?? '0'));
    parentPort!.postMessage({ id: request.id, results });
  } catch (err) {
    parentPort!.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort!.postMessage('ready');
