import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewPolicy } from '../../../agent/src/config/schema.js';
import type { KubeClient } from '../../../agent/src/kube/types.js';
import { LivePreviews, parseRefPattern } from '../../../agent/src/preview/index.js';
import { newestFirst } from '../../../agent/src/preview/refs-pattern.js';
import { commitFiles, deleteRef, type GitServer, git, setRef, startGitServer } from '../../git/index.js';
import { keygen, type SshKeyPair } from '../../git/sshd.js';
import { type FixtureRepo, fixtureRepo } from './helpers.js';

let fixture: FixtureRepo;
let server: GitServer;
let cache: string;

/**
 * No cluster in unit tests: every call fails, so a test that never reaches planning proves it.
 * Live plans against real clusters are in test/e2e/preview.test.ts.
 */
const noCluster = new Proxy({} as KubeClient, {
  get: (_t, prop) =>
    prop === 'requestCount'
      ? 0
      : () => Promise.reject(new Error(`unit test called the cluster: ${String(prop)}`)),
});

const EVERYONE: Partial<PreviewPolicy> = { trust: 'everyone', allowRefs: [] };

async function open(
  cluster = { name: 'us-2', labels: { region: 'us' } },
  maxRefs?: number,
  trust: { previewPolicy?: Partial<PreviewPolicy>; verify?: { keys: string[] } } = {
    previewPolicy: EVERYONE,
  },
  now: () => Date = () => clock,
) {
  return LivePreviews.open({
    ...(maxRefs ? { maxRefs, maxRefsPerPass: maxRefs } : {}),
    source: {
      name: 'fleet',
      url: server.url('fleet'),
      ref: 'main',
      path: '',
      previewRefs: 'refs/pull/*/head',
      ...trust,
    },
    cacheDir: await mkdtemp(path.join(cache, 'c-')),
    cluster,
    client: noCluster,
    applySet: { name: 'strata-fleet', namespace: 'strata-system' },
    log: pino({ level: 'silent' }),
    now,
  });
}

/** The fixture's commits are dated 2026-01-01: the clock stands a day later, within the age limit. */
let clock = new Date('2026-01-02T00:00:00Z');

beforeAll(async () => {
  fixture = await fixtureRepo();
  server = await startGitServer({ root: fixture.root });
  cache = await mkdtemp(path.join(tmpdir(), 'strata-live-test-'));
});
afterAll(async () => {
  await server?.close();
  await fixture?.cleanup();
  await rm(cache, { recursive: true, force: true });
});

describe('preview ref patterns', () => {
  it('matches one path segment per star, anchored', () => {
    const p = parseRefPattern('refs/pull/*/head');
    expect(p.prefix).toBe('refs/pull/');
    expect(p.matches('refs/pull/7/head')).toBe(true);
    expect(p.matches('refs/pull/7/merge')).toBe(false);
    expect(p.matches('refs/pull/7/head/x')).toBe(false);
    expect(p.matches('refs/pull//head')).toBe(false);
    expect(parseRefPattern('refs/heads/pr.*').matches('refs/heads/prX1')).toBe(false);
  });
});

describe('newest pull requests first', () => {
  it('orders by pull-request number, highest first, then refs without a number by name', () => {
    const refs = [
      'refs/pull/100/head',
      'refs/pull/9/head',
      'refs/heads/b',
      'refs/pull/11/head',
      'refs/heads/a',
    ];
    expect(newestFirst(refs.map((ref) => ({ ref }))).map((r) => r.ref)).toEqual([
      'refs/pull/100/head',
      'refs/pull/11/head',
      'refs/pull/9/head',
      'refs/heads/a',
      'refs/heads/b',
    ]);
  });
});

describe('live previews', () => {
  it('reports a head that fails to render with its location, without touching the cluster', async () => {
    const live = await open();
    await live.refresh();
    const [status, ...rest] = live.statuses();
    expect(rest).toEqual([]);
    expect(status).toMatchObject({
      ref: 'refs/pull/1/head',
      commit: fixture.head,
      state: 'open',
      error: { reason: 'RenderError', file: 'clusters/us-2/broken.yaml', line: 4 },
    });
    expect(status?.plan?.renderErrors).toHaveLength(1);
  });

  it('ignores refs outside the pattern and reports a vanished ref as closed, merged when main merges it', async () => {
    const live = await open();
    await setRef(fixture.repo, 'refs/pull/2/merge', fixture.head);
    await setRef(fixture.repo, 'refs/pull/3/head', fixture.head);
    await live.refresh();
    expect(live.statuses().map((s) => s.ref)).toEqual(['refs/pull/1/head', 'refs/pull/3/head']);

    // PR 3 is merged: main gets a merge commit whose second parent is the PR head.
    const tree = await git(['rev-parse', `${fixture.head}^{tree}`], { cwd: fixture.repo.dir });
    const mergeCommit = await git(
      ['commit-tree', tree, '-p', fixture.base, '-p', fixture.head, '-m', 'Merge #3'],
      {
        cwd: fixture.repo.dir,
      },
    );
    await setRef(fixture.repo, 'refs/heads/main', mergeCommit);
    await deleteRef(fixture.repo, 'refs/pull/3/head');
    await live.refresh();
    const closed = live.statuses().find((s) => s.ref === 'refs/pull/3/head');
    expect(closed).toMatchObject({
      state: 'closed',
      commit: fixture.head,
      plan: null,
      mergedAs: mergeCommit,
    });
    expect(live.statuses().find((s) => s.ref === 'refs/pull/1/head')?.state).toBe('open');
  });

  it('with more matching refs than the limit, previews the newest pull requests, not the first by name', async () => {
    for (const n of [2, 10, 11, 99, 100]) await setRef(fixture.repo, `refs/pull/${n}/head`, fixture.head);
    try {
      const live = await open(undefined, 3);
      await live.refresh();
      // String order would have kept 1, 10 and 100.
      expect(live.statuses().map((s) => s.ref)).toEqual([
        'refs/pull/100/head',
        'refs/pull/11/head',
        'refs/pull/99/head',
      ]);
    } finally {
      for (const n of [2, 10, 11, 99, 100]) await deleteRef(fixture.repo, `refs/pull/${n}/head`);
    }
  });

  it("reports the cluster's wave under the rollout rules of the commit it planned", async () => {
    const waves = await commitFiles(
      fixture.repo,
      {
        'strata.yaml': `apiVersion: strata.dev/v1
kind: Fleet
layers: [{ path: global }]
rollout:
  waves:
    - { name: canary, selector: region=eu }
    - { name: americas, selector: region=us }
    - { name: rest }
`,
      },
      { branch: 'pr-waves', parent: fixture.base },
    );
    await setRef(fixture.repo, 'refs/pull/40/head', waves);
    const live = await open();
    await live.refresh();
    const status = live.statuses().find((s) => s.ref === 'refs/pull/40/head');
    expect(status).toMatchObject({ commit: waves, wave: { index: 1, name: 'americas' } });
    // The fixture's own head declares no waves.
    expect(live.statuses().find((s) => s.ref === 'refs/pull/1/head')?.wave).toBeNull();
    await deleteRef(fixture.repo, 'refs/pull/40/head');
  });
});

describe('the preview policy: which refs are dry-run at all', () => {
  let trusted: SshKeyPair;
  let stranger: SshKeyPair;
  let signers: string;

  /** The fixture head's tree again on top of it, signed by the real git with an SSH key. */
  async function signedHead(key: SshKeyPair): Promise<string> {
    const tree = await git(['rev-parse', `${fixture.head}^{tree}`], { cwd: fixture.repo.dir });
    const args = ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.privateKey}`, 'commit-tree', '-S'];
    return git([...args, '-p', fixture.head, '-m', 'signed', tree], { cwd: fixture.repo.dir });
  }

  const byRef = (live: LivePreviews) => new Map(live.statuses().map((s) => [s.ref, s]));

  beforeAll(async () => {
    trusted = keygen(path.join(cache, 'keys'), 'reviewer');
    stranger = keygen(path.join(cache, 'keys'), 'stranger');
    signers = path.join(cache, 'preview-signers');
    await writeFile(signers, `reviewer@strata.invalid ${trusted.publicKey}\n`);
  });

  it('by default (no policy, no verify keys) dry-runs nothing: every ref is refused, saying what to set', async () => {
    const live = await open(undefined, undefined, {});
    await live.refresh();
    expect(live.statuses()).toEqual([
      expect.objectContaining({
        ref: 'refs/pull/1/head',
        commit: fixture.head,
        plan: null,
        error: {
          reason: 'PreviewRefused',
          message: expect.stringMatching(/no key is set \(previewPolicy.keys or verify.keys;/),
        },
      }),
    ]);
  });

  it('renders a head signed by a trusted key; refuses an unsigned head and one signed by a stranger', async () => {
    const refs = { '7': await signedHead(trusted), '8': fixture.head, '9': await signedHead(stranger) };
    for (const [n, commit] of Object.entries(refs)) await setRef(fixture.repo, `refs/pull/${n}/head`, commit);
    try {
      const live = await open(undefined, undefined, {
        previewPolicy: { trust: 'signed', keys: [signers], allowRefs: [] },
      });
      await live.refresh();
      const got = byRef(live);
      // Rendering ran (the fixture head fails to render for us-2): the signed ref passed the policy.
      expect(got.get('refs/pull/7/head')).toMatchObject({
        commit: refs['7'],
        error: { reason: 'RenderError' },
      });
      expect(got.get('refs/pull/8/head')).toMatchObject({
        commit: fixture.head,
        plan: null,
        error: { reason: 'PreviewRefused', message: `not previewed: commit ${fixture.head}: is not signed` },
      });
      expect(got.get('refs/pull/9/head')).toMatchObject({
        plan: null,
        error: {
          reason: 'PreviewRefused',
          message: expect.stringContaining('is signed by an SSH key that is not trusted'),
        },
      });
      expect(got.get('refs/pull/1/head')?.error?.reason).toBe('PreviewRefused');
    } finally {
      for (const n of Object.keys(refs)) await deleteRef(fixture.repo, `refs/pull/${n}/head`);
    }
  });

  it("takes the source's verify keys when the policy names none, and drops a plan once the head moves to an unsigned commit", async () => {
    await setRef(fixture.repo, 'refs/pull/7/head', await signedHead(trusted));
    try {
      const live = await open(undefined, undefined, { verify: { keys: [signers] } });
      await live.refresh();
      expect(byRef(live).get('refs/pull/7/head')?.error?.reason).toBe('RenderError');
      expect(byRef(live).get('refs/pull/7/head')?.plan?.renderErrors).toHaveLength(1);
      // Someone pushes an unsigned commit onto the PR: its earlier result is gone, nothing is rendered.
      await setRef(fixture.repo, 'refs/pull/7/head', fixture.head);
      await live.refresh();
      expect(byRef(live).get('refs/pull/7/head')).toMatchObject({
        commit: fixture.head,
        plan: null,
        error: { reason: 'PreviewRefused' },
      });
    } finally {
      await deleteRef(fixture.repo, 'refs/pull/7/head');
    }
  });

  it('previews refs matching allowRefs without a signature, and only those', async () => {
    const live = await open(undefined, undefined, {
      previewPolicy: { trust: 'signed', keys: [signers], allowRefs: ['refs/pull/1/*'] },
    });
    await setRef(fixture.repo, 'refs/pull/2/head', fixture.head);
    try {
      await live.refresh();
      expect(byRef(live).get('refs/pull/1/head')?.error?.reason).toBe('RenderError');
      expect(byRef(live).get('refs/pull/2/head')?.error?.reason).toBe('PreviewRefused');
    } finally {
      await deleteRef(fixture.repo, 'refs/pull/2/head');
    }
  });
});

describe('closed pull requests: the merge ref gone, or a head too old', () => {
  const byRef = (live: LivePreviews) => new Map(live.statuses().map((s) => [s.ref, s]));
  const DAY = 86_400_000;

  it('with openWhile refs/pull/*/merge, closes a PR whose merge ref is gone while its head ref stays (as on GitHub)', async () => {
    await setRef(fixture.repo, 'refs/pull/5/head', fixture.head);
    await setRef(fixture.repo, 'refs/pull/5/merge', fixture.head);
    try {
      const live = await open(undefined, undefined, {
        previewPolicy: { ...EVERYONE, openWhile: 'refs/pull/*/merge' },
      });
      await live.refresh();
      // PR 1 never had a merge ref: not previewed at all. PR 5 is open: rendered.
      expect([...byRef(live).keys()]).toEqual(['refs/pull/5/head']);
      expect(byRef(live).get('refs/pull/5/head')).toMatchObject({
        state: 'open',
        error: { reason: 'RenderError' },
      });
      await deleteRef(fixture.repo, 'refs/pull/5/merge');
      await live.refresh();
      expect(byRef(live).get('refs/pull/5/head')).toMatchObject({
        state: 'closed',
        commit: fixture.head,
        plan: null,
      });
      // A closed preview is reported for keepClosedMs (1 h), then dropped.
      clock = new Date(clock.getTime() + 3_600_001);
      await live.refresh();
      expect(live.statuses()).toEqual([]);
    } finally {
      clock = new Date('2026-01-02T00:00:00Z');
      await deleteRef(fixture.repo, 'refs/pull/5/head');
      await deleteRef(fixture.repo, 'refs/pull/5/merge');
    }
  });

  it('closes a PR whose head commit is older than maxAge without rendering it, and previews it again after a push', async () => {
    // The fixture head (dated 2026-01-01) fails to render for us-2: a RenderError proves it was rendered.
    clock = new Date('2026-02-01T00:00:01Z');
    try {
      const live = await open(undefined, undefined, { previewPolicy: { ...EVERYONE, maxAge: 30 * DAY } });
      await live.refresh();
      expect(byRef(live).get('refs/pull/1/head')).toMatchObject({
        state: 'closed',
        commit: fixture.head,
        plan: null,
        error: {
          reason: 'PreviewExpired',
          message: expect.stringMatching(/is 31d old, older than previewPolicy.maxAge \(30d\)/),
        },
      });
      const pushed = await commitFiles(
        fixture.repo,
        { 'README.md': 'again' },
        {
          branch: 'pr-1',
          parent: fixture.head,
          date: '2026-02-01T00:00:00Z',
        },
      );
      await setRef(fixture.repo, 'refs/pull/1/head', pushed);
      await live.refresh();
      expect(byRef(live).get('refs/pull/1/head')).toMatchObject({
        state: 'open',
        commit: pushed,
        error: { reason: 'RenderError' },
      });
    } finally {
      clock = new Date('2026-01-02T00:00:00Z');
      await setRef(fixture.repo, 'refs/pull/1/head', fixture.head);
    }
  });

  it('counts a head dated in the future from when the agent first saw it, so a forged date cannot keep a PR open', async () => {
    const future = await commitFiles(
      fixture.repo,
      { 'README.md': 'from the future' },
      {
        branch: 'pr-6',
        parent: fixture.head,
        date: '2030-01-01T00:00:00Z',
      },
    );
    await setRef(fixture.repo, 'refs/pull/6/head', future);
    try {
      const live = await open(undefined, undefined, { previewPolicy: { ...EVERYONE, maxAge: 30 * DAY } });
      await live.refresh();
      expect(byRef(live).get('refs/pull/6/head')?.state).toBe('open');
      clock = new Date(clock.getTime() + 31 * DAY);
      await live.refresh();
      expect(byRef(live).get('refs/pull/6/head')).toMatchObject({
        state: 'closed',
        error: { reason: 'PreviewExpired' },
      });
    } finally {
      clock = new Date('2026-01-02T00:00:00Z');
      await deleteRef(fixture.repo, 'refs/pull/6/head');
    }
  });
});
