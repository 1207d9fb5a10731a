// A fetch that failed part way (the disk full, the agent killed) can leave a pack index shorter than
// any valid one. isomorphic-git then throws on every lookup of an object the cache lacks, so without
// a repair the source could never move to a new commit again.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../../../agent/src/source/git.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../../git/index.js';

let tmp: string;
let server: GitServer;
let repo: TestRepo;

const cm = (round: number) => ({
  'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\ndata: { round: "${round}" }\n`,
});

function open(name: string): Promise<GitSource> {
  return GitSource.open({
    url: `http://127.0.0.1:${server.port}/fleet.git`,
    ref: 'main',
    timeoutMs: 5000,
    cacheDir: path.join(tmp, 'state', name),
    log: pino({ level: 'silent' }),
  });
}

type Damage = 'empty index' | 'index cut in half' | 'index overwritten at its start' | 'pack cut short';

/** A copy of a pack of the cache under a new name, damaged as a torn write or a bad disk leaves it. */
async function tear(source: GitSource, damage: Damage): Promise<string> {
  const dir = path.join(source.gitdir, 'objects', 'pack');
  const base = (await readdir(dir)).find((n) => n.endsWith('.pack'))?.slice(0, -'.pack'.length) as string;
  const torn = `pack-${'0'.repeat(40)}`;
  const idx = await readFile(path.join(dir, `${base}.idx`));
  const pack = await readFile(path.join(dir, `${base}.pack`));
  const damagedIdx =
    damage === 'empty index'
      ? Buffer.alloc(0)
      : damage === 'index cut in half'
        ? idx.subarray(0, idx.length >> 1)
        : damage === 'index overwritten at its start'
          ? Buffer.concat([Buffer.alloc(64, 0x5a), idx.subarray(64)])
          : idx;
  await writeFile(path.join(dir, `${torn}.idx`), damagedIdx);
  await writeFile(path.join(dir, `${torn}.pack`), damage === 'pack cut short' ? pack.subarray(0, 40) : pack);
  return torn;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-git-torn-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  await commitFiles(repo, cm(1));
  server = await startGitServer({ root: path.join(tmp, 'repos') });
});
afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('a damaged pack in the Git cache', () => {
  // Damage that makes every lookup of an object the cache lacks throw: the fetch itself trips on it.
  it.each<Damage>(['empty index', 'index cut in half'])(
    '(%s) is dropped when a fetch fails on it, and the fetch then moves to the new commit',
    async (damage) => {
      const source = await open(`running-${damage}`);
      expect((await source.fetch()).error).toBeNull();
      const torn = await tear(source, damage);
      const next = await commitFiles(repo, cm(Math.random()));
      const state = await source.fetch();
      expect(state.error).toBeNull();
      expect(state.commit).toBe(next);
      const left = await readdir(path.join(source.gitdir, 'objects', 'pack'));
      expect(left.filter((n) => n.startsWith(torn))).toEqual([]);
    },
  );

  it.each<Damage>(['empty index', 'index cut in half', 'index overwritten at its start', 'pack cut short'])(
    '(%s) is dropped when the source opens (an agent restarted on the damaged cache)',
    async (damage) => {
      const first = await open(`restarted-${damage}`);
      expect((await first.fetch()).error).toBeNull();
      const whole = (await readdir(path.join(first.gitdir, 'objects', 'pack'))).sort();
      const torn = await tear(first, damage);
      const next = await commitFiles(repo, cm(Math.random()));
      const reopened = await open(`restarted-${damage}`);
      const left = (await readdir(path.join(reopened.gitdir, 'objects', 'pack'))).sort();
      // Only the damaged pair went: the whole packs (and the commit they hold) stayed.
      expect(left.filter((n) => n.startsWith(torn))).toEqual([]);
      expect(left).toEqual(whole);
      const state = await reopened.fetch();
      expect(state.error).toBeNull();
      expect(state.commit).toBe(next);
    },
  );
});
