/**
 * The one way the agent writes a file it must find again after a crash or power loss (the Git
 * source's state.json, the sync engine's no-op cache).
 */
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Write a file so that a crash leaves either the old or the new content: temp file, fsync, rename. */
export async function writeDurable(file: string, body: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
