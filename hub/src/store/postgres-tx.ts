/** One PostgreSQL transaction on a pooled connection: the one BEGIN … COMMIT / ROLLBACK of the store. */
import type pg from 'pg';

/**
 * Runs `work` in a transaction on a connection of its own: committed when it resolves, rolled back
 * when it throws (the error passes on unchanged), and the connection back in the pool either way.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
