import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commitFolder, createRepo, setRef, type TestRepo } from '../../git/index.js';

export const FIXTURES = path.join(import.meta.dirname, 'testdata');
export const CLUSTERS_FILE = path.join(FIXTURES, 'clusters.yaml');
export const PR_REF = 'refs/pull/1/head';
/** Fixed dates make the commit ids, and so the expected Markdown, reproducible. */
const DATE = '2026-01-01T00:00:00Z';

export interface FixtureRepo {
  root: string;
  repo: TestRepo;
  base: string;
  head: string;
  cleanup(): Promise<void>;
}

/** A real bare repository: `main` holds fixtures/base, `refs/pull/1/head` holds fixtures/head on top of it. */
export async function fixtureRepo(): Promise<FixtureRepo> {
  const root = await mkdtemp(path.join(tmpdir(), 'strata-preview-test-'));
  const repo = await createRepo(root, 'fleet');
  const base = await commitFolder(repo, path.join(FIXTURES, 'base'), { date: DATE, message: 'base' });
  const head = await commitFolder(repo, path.join(FIXTURES, 'head'), {
    branch: 'pr-1',
    parent: base,
    date: DATE,
    message: 'pull request 1',
  });
  await setRef(repo, PR_REF, head);
  return { root, repo, base, head, cleanup: () => rm(root, { recursive: true, force: true }) };
}
