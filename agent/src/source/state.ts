import type { SourceError } from './errors.js';

/** What a source (Git or folder) offers the loop: the commit in force and how fresh it is. */
export interface SourceState {
  /** The commit enforced; null before the first successful fetch. */
  commit: string | null;
  /** When `commit` was last confirmed by the remote. */
  fetchedAt: string | null;
  reachable: boolean;
  error: SourceError | null;
}
