import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import preview from '../../../agent/src/commands/preview.js';
import { type GitServer, startGitServer } from '../../git/index.js';
import { CLUSTERS_FILE, type FixtureRepo, fixtureRepo, PR_REF } from './helpers.js';

let fixture: FixtureRepo;
let server: GitServer;
let out: string;
const TOKEN = 'preview-test-token';

beforeAll(async () => {
  fixture = await fixtureRepo();
  server = await startGitServer({ root: fixture.root, auth: { type: 'bearer', token: TOKEN } });
  out = await mkdtemp(path.join(tmpdir(), 'strata-preview-cli-'));
  await writeFile(path.join(out, 'git-token'), `${TOKEN}\n`);
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
  await rm(out, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    chunks.push(String(c));
    return true;
  });
  try {
    return { code: await preview(args), stderr: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('strata preview', () => {
  it('fetches both refs of a remote repository and prints the same preview as for the local one', async () => {
    const local = path.join(out, 'local.md');
    const remote = path.join(out, 'remote.md');
    const common = ['--base', 'main', '--head', PR_REF, '--clusters', CLUSTERS_FILE];
    expect((await run(['--repo', fixture.repo.dir, ...common, '--out', local])).code).toBe(0);
    const fetched = await run([
      '--repo',
      server.url('fleet'),
      '--git-token-file',
      path.join(out, 'git-token'),
      ...common,
      '--out',
      remote,
    ]);
    expect(fetched).toEqual({ code: 0, stderr: '' });
    const text = await readFile(remote, 'utf8');
    expect(text).toBe(await readFile(local, 'utf8'));
    expect(text).toContain(fixture.head.slice(0, 12));
  });

  it('writes JSON with every cluster and the groups', async () => {
    const file = path.join(out, 'preview.json');
    const args = ['--repo', fixture.repo.dir, '--base', 'main', '--head', PR_REF];
    expect((await run([...args, '--clusters', CLUSTERS_FILE, '--format', 'json', '--out', file])).code).toBe(
      0,
    );
    const doc = JSON.parse(await readFile(file, 'utf8'));
    expect(doc.summary).toEqual({ clusters: 5, changed: 4, unchanged: 0, failed: 1 });
    expect(doc.groups.map((g: { clusters: string[] }) => g.clusters)).toEqual([
      ['us-2'],
      ['eu-1', 'eu-2'],
      ['solo', 'us-1'],
    ]);
  });

  it('names the ref it cannot find', async () => {
    const res = await run([
      '--repo',
      fixture.repo.dir,
      '--base',
      'main',
      '--head',
      'no-such-branch',
      '--clusters',
      CLUSTERS_FILE,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("cannot open 'no-such-branch'");
  });

  it('names the field of a bad clusters file', async () => {
    const bad = path.join(out, 'bad.yaml');
    await writeFile(bad, 'clusters:\n  - name: ok\n  - name: Not_A_Name\n');
    const res = await run([
      '--repo',
      fixture.repo.dir,
      '--base',
      'main',
      '--head',
      PR_REF,
      '--clusters',
      bad,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${bad}: clusters[1].name`);
  });

  it('refuses to run without a cluster list, with usage', async () => {
    const res = await run(['--repo', fixture.repo.dir, '--base', 'main', '--head', PR_REF]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('give exactly one of --clusters FILE or --hub URL');
  });
});
