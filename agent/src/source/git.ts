/**
 * A Git source: isomorphic-git shallow, single-ref fetches into a bare cache under the state
 * directory. The last good commit survives restarts (state.json) and outages: when the remote
 * cannot be reached the source keeps that commit and says `SourceUnavailable` since when.
 * Render reads commits straight from the object store (no checkout).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import git, { type HttpClient } from 'isomorphic-git';
import type { Logger } from 'pino';
import { redactUrl } from '../../../contract/redact.js';
import type { SourceAuth } from '../config/schema.js';
import { isSshUrl, parseSshUrl, type SshRemote } from '../model/ssh-url.js';
import { writeDurable } from '../persist/durable.js';
import {
  classifyFetchError,
  describeFetchError,
  IncompleteFetchError,
  RefMissingError,
  SourceCorruptError,
} from './errors.js';
import { gitFs as fs } from './git-fs.js';
import { type GitCache, openGitTree } from './git-tree.js';
import { deadlineHttpClient } from './http.js';
import { splitCommit, splitTag } from './signature.js';
import { sshHttpClient } from './ssh-transport.js';
import type { SourceState } from './state.js';
import type { FileTree } from './tree.js';
import { type LoadedKeys, loadKeys, SignatureError, type VerifyPolicy, verifySigned } from './verify.js';

/** One Git source: remote, ref, auth, verification, cache folder and timeouts. */
export interface GitSourceOptions {
  url: string;
  ref: string;
  auth?: SourceAuth;
  timeoutMs: number;
  /** Only commits (or tags) signed by one of these keys are ever handed to render. */
  verify?: VerifyPolicy;
  /** This source's own folder under the state directory. */
  cacheDir: string;
  log: Logger;
  now?: () => Date;
}

const SHA = /^[0-9a-f]{40}$/;
const STATE_FILE = 'state.json';
const PACK_INDEX_MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);
/**
 * Every fetch that brings a new commit adds one pack, and nothing ever removes one: past this many
 * the cache is compacted into one pack holding only what its refs point at (an edge device's disk
 * must not fill with every tree the fleet repository ever had).
 */
export const MAX_CACHE_PACKS = 16;
/** Loose object folders (`objects/xx`) tolerated before a compaction packs them away too. */
const MAX_LOOSE_FOLDERS = 64;

/**
 * A version-2 pack index with its own SHA-1 trailer intact, and a pack that starts with `PACK` and
 * ends with the checksum the index recorded for it (git's pack-format). Anything else is not whole.
 */
async function packIsWhole(idxFile: string, packFile: string): Promise<boolean> {
  try {
    const idx = await readFile(idxFile);
    if (idx.length < 8 + 256 * 4 + 40 || !idx.subarray(0, 4).equals(PACK_INDEX_MAGIC)) return false;
    if (idx.readUInt32BE(4) !== 2) return false;
    const sum = createHash('sha1')
      .update(idx.subarray(0, idx.length - 20))
      .digest();
    if (!sum.equals(idx.subarray(idx.length - 20))) return false;
    const handle = await open(packFile, 'r');
    try {
      const { size } = await handle.stat();
      if (size < 12 + 20) return false;
      const head = Buffer.alloc(4);
      const tail = Buffer.alloc(20);
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 20, size - 20);
      return (
        head.toString('latin1') === 'PACK' && tail.equals(idx.subarray(idx.length - 40, idx.length - 20))
      );
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** A folder name for a source cache that changes when the URL does, so caches never mix. */
export function cacheFolderName(name: string, url: string): string {
  return `${name}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/** A Git remote as a source: fetches the ref's newest commit shallowly and reads its tree. */
export class GitSource {
  readonly gitdir: string;
  readonly displayUrl: string;
  private current: SourceState = { commit: null, fetchedAt: null, reachable: true, error: null };
  private queue: Promise<unknown> = Promise.resolve();
  /** Commits whose every object was read once: render may trust a missing path is really missing. */
  private readonly verified = new Set<string>();
  private readonly now: () => Date;
  /** Set for ssh:// and scp-like URLs: isomorphic-git then talks through the system ssh client. */
  private readonly ssh: SshRemote | undefined;
  /** The annotated tag object the last ref lookup found (for verify mode tag). */
  private lastTag: { ref: string; oid: string } | undefined;
  /** Signature verdicts by object and key set: a rejected commit is not checked again each interval. */
  private readonly verdicts = new Map<string, string | SignatureError>();

  private constructor(private readonly opts: GitSourceOptions) {
    this.gitdir = path.join(opts.cacheDir, 'repo.git');
    this.displayUrl = redactUrl(opts.url);
    this.now = opts.now ?? (() => new Date());
    this.ssh = isSshUrl(opts.url) ? parseSshUrl(opts.url) : undefined;
    if (this.ssh && !(opts.auth && 'sshKeyFile' in opts.auth)) {
      throw new Error(`${opts.url}: an SSH URL needs auth.sshKeyFile and auth.knownHostsFile`);
    }
  }

  /** The URL isomorphic-git sees: SSH remotes get a placeholder, their client ignores it. */
  private get transportUrl(): string {
    return this.ssh ? 'http://ssh.invalid/repository' : this.opts.url;
  }

  /** Open the cache: restore the last good commit and drop the cache if it is corrupt. */
  static async open(opts: GitSourceOptions): Promise<GitSource> {
    const source = new GitSource(opts);
    await source.exclusive(() => source.restore());
    return source;
  }

  get state(): SourceState {
    return { ...this.current };
  }

  /** True when the configured ref is a commit SHA: the source is pinned and never moves. */
  get pinned(): boolean {
    return SHA.test(this.opts.ref);
  }

  /** Fetch the ref and move to its commit; on failure keep the last commit and record why. */
  fetch(): Promise<SourceState> {
    return this.exclusive(async () => {
      if (this.pinned && this.current.commit === this.opts.ref) return this.state;
      for (let attempt = 0; ; attempt++) {
        try {
          const commit = await this.fetchCommit(this.opts.ref, this.localRef(this.opts.ref));
          await this.verifyCommitShallow(commit);
          await this.checkSignatures(this.opts.ref, commit);
          await this.succeed(commit);
        } catch (err) {
          // A damaged pack (torn by a crash or a full disk) breaks every lookup of an object the
          // cache does not hold, so this fetch and every later one: drop it and fetch once more.
          // A damaged `shallow` file makes every fetch send a broken shallow line: rewrite it.
          if (attempt === 0 && ((await this.dropDamagedPacks()) > 0 || (await this.repairShallow())))
            continue;
          this.fail(err);
        }
        return this.state;
      }
    });
  }

  /** Refs on the remote under `prefix` (e.g. `refs/pull/`), for previews. Throws when unreachable. */
  listRemoteRefs(prefix: string): Promise<{ ref: string; oid: string }[]> {
    return this.withDeadline(async (http) => {
      const refs = await git.listServerRefs({
        http,
        url: this.transportUrl,
        prefix,
        ...(await this.credentials()),
      });
      return refs.map((r) => ({ ref: r.ref, oid: r.oid }));
    });
  }

  /** Fetch another ref (a preview ref) into the same cache; returns its commit. Throws on failure. */
  fetchRef(ref: string): Promise<string> {
    return this.exclusive(() => this.fetchCommit(ref, this.localRef(ref)));
  }

  /**
   * Check a fetched commit's signature against the keys of `keyFiles` (a preview policy's); resolves
   * with the signer, throws SignatureError saying why not. Verdicts are cached like the main ref's.
   */
  async checkCommitSignature(commit: string, keyFiles: string[]): Promise<string> {
    return this.checkObject(`commit ${commit}`, commit, 'commit', await loadKeys(keyFiles));
  }

  /**
   * Read every object of a commit (commit, trees, blobs); false when one is missing or damaged.
   * Cheap enough at start and after a render that failed to read an object.
   */
  async verify(commit: string, cache: GitCache = {}): Promise<boolean> {
    if (this.verified.has(commit)) return true;
    try {
      const { commit: c } = await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache });
      await this.walkTree(c.tree, cache);
      this.verified.add(commit);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A commit as a FileTree read from the object store; rejects when an object is missing or damaged.
   * The check and the tree share one cache of parsed packfiles, which goes away with the tree.
   */
  async tree(commit: string): Promise<FileTree> {
    const cache: GitCache = {};
    if (!(await this.verify(commit, cache))) throw new SourceCorruptError(commit);
    return openGitTree({ fs, gitdir: this.gitdir, commit, cache });
  }

  /** Drop the cache and fetch again (after a render hit a damaged object). */
  repair(): Promise<SourceState> {
    return this.exclusive(async () => {
      this.opts.log.warn({ gitdir: this.gitdir }, 'Git cache is damaged; fetching it again.');
      this.verified.clear();
      await this.resetCache();
      this.current = { ...this.current, commit: null, fetchedAt: null };
      try {
        const commit = await this.fetchCommit(this.opts.ref, this.localRef(this.opts.ref));
        await this.checkSignatures(this.opts.ref, commit);
        await this.succeed(commit);
      } catch (err) {
        this.fail(err);
      }
      return this.state;
    });
  }

  private async restore(): Promise<void> {
    await this.initCache();
    await this.dropDamagedPacks();
    const saved = await this.readStateFile();
    // A commit kept under another verify policy (or none) is not trusted under this one.
    if (!saved?.commit || (saved.verified ?? null) !== (await this.policyStamp())) {
      await this.repairShallow();
      return;
    }
    if (await this.verify(saved.commit)) {
      this.current = { commit: saved.commit, fetchedAt: saved.fetchedAt, reachable: true, error: null };
      await this.repairShallow();
      return;
    }
    this.opts.log.warn({ commit: saved.commit }, 'Git cache is damaged; it will be fetched again.');
    await this.resetCache();
  }

  /**
   * Ask the remote where the ref points (one small ls-refs request); download only when that
   * commit is not in the cache yet. A ref seen before is fetched with a relative deepen, so the
   * server sends just what changed instead of the whole tree again.
   */
  private async fetchCommit(ref: string, localRef: string): Promise<string> {
    this.lastTag = undefined;
    const advertised = SHA.test(ref) ? ref : await this.remoteCommit(ref);
    if (await this.hasCommit(advertised)) {
      await git.writeRef({ fs, gitdir: this.gitdir, ref: localRef, value: advertised, force: true });
      return advertised;
    }
    const previous = await git.resolveRef({ fs, gitdir: this.gitdir, ref: localRef }).catch(() => undefined);
    let commit = await this.download(ref, previous !== undefined && !SHA.test(ref));
    if (!(await this.hasCommit(commit))) commit = await this.download(ref, false);
    // A local ref with the same name makes the next fetch send it as a "have".
    await git.writeRef({ fs, gitdir: this.gitdir, ref: localRef, value: commit, force: true });
    return commit;
  }

  private async download(ref: string, relative: boolean): Promise<string> {
    const fetched = await this.withDeadline(async (http) =>
      git.fetch({
        fs,
        http,
        gitdir: this.gitdir,
        url: this.transportUrl,
        ref,
        remoteRef: ref,
        singleBranch: true,
        depth: 1,
        relative,
        tags: false,
        ...(await this.credentials()),
      }),
    );
    if (!fetched.fetchHead) throw new RefMissingError(ref);
    try {
      return await this.peel(fetched.fetchHead);
    } catch (err) {
      // The ref was advertised; an object of it that did not arrive is the pack's fault.
      const missing = (err as { code?: string; data?: { what?: string } }).data?.what;
      if ((err as { code?: string }).code === 'NotFoundError' && missing)
        throw new IncompleteFetchError(ref, missing);
      throw err;
    }
  }

  /** The commit a remote ref points at (annotated tags peeled); RefMissingError when absent. */
  private async remoteCommit(ref: string): Promise<string> {
    const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
    for (const candidate of candidates) {
      const refs = await this.withDeadline(async (http) =>
        git.listServerRefs({
          http,
          url: this.transportUrl,
          prefix: candidate,
          peelTags: true,
          ...(await this.credentials()),
        }),
      );
      const found = refs.find((r) => r.ref === candidate);
      if (found) {
        this.lastTag = found.peeled ? { ref: candidate, oid: found.oid } : undefined;
        return found.peeled ?? found.oid;
      }
    }
    throw new RefMissingError(ref);
  }

  private async hasCommit(oid: string): Promise<boolean> {
    const cache: GitCache = {};
    try {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid, cache });
      await git.readTree({ fs, gitdir: this.gitdir, oid: commit.tree, cache });
      return true;
    } catch {
      return false;
    }
  }

  private async peel(oid: string): Promise<string> {
    let current = oid;
    for (let i = 0; i < 10; i++) {
      const { type, object } = await git.readObject({
        fs,
        gitdir: this.gitdir,
        oid: current,
        format: 'parsed',
      });
      if (type === 'commit') return current;
      if (type !== 'tag') throw new Error(`ref ${this.opts.ref} points at a ${type}, not a commit`);
      current = (object as { object: string }).object;
    }
    throw new Error(`ref ${this.opts.ref}: tag chain too long`);
  }

  /**
   * The verify policy, before a commit reaches render: the head commit's signature (`head`), the
   * annotated tag's (`tag`), or both. Throws SignatureError; the source then keeps its last commit.
   */
  private async checkSignatures(ref: string, commit: string): Promise<void> {
    const policy = this.opts.verify;
    if (!policy) return;
    const keys = await loadKeys(policy.keys);
    if (policy.mode !== 'tag') await this.checkObject(`commit ${commit}`, commit, 'commit', keys);
    if (policy.mode === 'head') return;
    const tag = this.lastTag;
    if (!tag)
      throw new SignatureError(
        `ref ${ref}`,
        `is not an annotated tag: verify mode ${policy.mode} needs a signed tag`,
      );
    if (!(await this.hasObject(tag.oid))) await this.download(ref, false);
    await this.checkObject(`tag ${tag.ref} (${tag.oid})`, tag.oid, 'tag', keys);
  }

  private async checkObject(
    label: string,
    oid: string,
    type: 'commit' | 'tag',
    keys: LoadedKeys,
  ): Promise<string> {
    const key = `${oid}:${keys.digest}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const { object, type: actual } = await git.readObject({
        fs,
        gitdir: this.gitdir,
        oid,
        format: 'content',
      });
      if (actual !== type) throw new SignatureError(label, `is a ${actual}, not a ${type}`);
      const raw = object as Uint8Array;
      const signed = type === 'commit' ? splitCommit(raw) : splitTag(raw);
      try {
        verdict = await verifySigned(label, signed, keys, this.opts.cacheDir);
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        verdict = err;
      }
      if (this.verdicts.size > 1000) this.verdicts.clear();
      this.verdicts.set(key, verdict);
    }
    if (verdict instanceof SignatureError) throw verdict;
    this.opts.log.debug({ object: label, signer: verdict }, 'Signature verified.');
    return verdict;
  }

  private async hasObject(oid: string): Promise<boolean> {
    try {
      await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content' });
      return true;
    } catch {
      return false;
    }
  }

  /** What state.json records about the policy a commit passed: mode and key set. */
  private async policyStamp(): Promise<string | null> {
    const policy = this.opts.verify;
    if (!policy) return null;
    try {
      return `${policy.mode}:${(await loadKeys(policy.keys)).digest}`;
    } catch {
      return 'unreadable';
    }
  }

  private async verifyCommitShallow(commit: string): Promise<void> {
    const cache: GitCache = {};
    const { commit: c } = await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache });
    await git.readTree({ fs, gitdir: this.gitdir, oid: c.tree, cache });
  }

  private async walkTree(oid: string, cache: GitCache): Promise<void> {
    const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid, cache });
    for (const entry of tree) {
      if (entry.type === 'tree') await this.walkTree(entry.oid, cache);
      else if (entry.type === 'blob') await git.readBlob({ fs, gitdir: this.gitdir, oid: entry.oid, cache });
    }
  }

  private async succeed(commit: string): Promise<void> {
    const moved = commit !== this.current.commit;
    this.current = { commit, fetchedAt: this.now().toISOString(), reachable: true, error: null };
    await this.writeStateFile();
    if (moved) this.opts.log.info({ commit }, 'Source moved to a new commit.');
    if (moved) await this.compactIfNeeded();
  }

  /**
   * Past MAX_CACHE_PACKS packs (or MAX_LOOSE_FOLDERS loose object folders), write one pack of the
   * objects the cache's refs point at (each commit, its trees and blobs; the last annotated tag),
   * mark those commits shallow, then delete every other pack and loose object. The new pack and its
   * index are whole before anything is deleted, so a crash at any point leaves a readable cache
   * (at worst with duplicates, compacted the next time). Never fails a fetch: a compaction that
   * goes wrong is logged and the cache stays as it was.
   */
  private async compactIfNeeded(): Promise<void> {
    const { packs, loose } = await this.cacheFiles();
    if (packs.length <= MAX_CACHE_PACKS && loose.length <= MAX_LOOSE_FOLDERS) return;
    await this.compact();
  }

  private async cacheFiles(): Promise<{ packs: string[]; loose: string[] }> {
    const objects = path.join(this.gitdir, 'objects');
    const packs = (await readdir(path.join(objects, 'pack')).catch(() => [] as string[])).filter((n) =>
      n.endsWith('.pack'),
    );
    const loose = (await readdir(objects).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{2}$/.test(n));
    return { packs, loose };
  }

  /**
   * A `shallow` file holding anything but commit ids, one a line (torn by a crash, damaged on disk),
   * is rewritten by a compaction, which marks exactly the kept commits shallow and never reads the old
   * file; when that fails too, the cache is dropped and fetched again. True when it was damaged.
   */
  private async repairShallow(): Promise<boolean> {
    const text = await readFile(path.join(this.gitdir, 'shallow'), 'utf8').catch(() => '');
    if (text.split('\n').every((line) => line === '' || SHA.test(line))) return false;
    this.opts.log.warn({ gitdir: this.gitdir }, "The Git cache's shallow file is damaged; rewriting it.");
    if (!(await this.compact())) {
      this.verified.clear();
      await this.resetCache();
      this.current = { ...this.current, commit: null, fetchedAt: null };
    }
    return true;
  }

  /** Compacts the cache (see compactIfNeeded); false, with the cache as it was, when that fails. */
  private async compact(): Promise<boolean> {
    const objects = path.join(this.gitdir, 'objects');
    const packDir = path.join(objects, 'pack');
    const { packs, loose } = await this.cacheFiles();
    try {
      const cache: GitCache = {};
      const refs = await git.listRefs({ fs, gitdir: this.gitdir, filepath: 'refs' });
      const tips = new Set<string>();
      for (const name of refs) {
        const oid = await git
          .resolveRef({ fs, gitdir: this.gitdir, ref: `refs/${name}` })
          .catch(() => undefined);
        if (oid) tips.add(oid);
      }
      if (this.current.commit) tips.add(this.current.commit);
      const keep = new Set<string>();
      const commits: string[] = [];
      for (const tip of tips) {
        const { commit: c } = await git.readCommit({ fs, gitdir: this.gitdir, oid: tip, cache });
        commits.push(tip);
        keep.add(tip);
        await this.collectTree(c.tree, keep, cache);
      }
      if (this.lastTag && (await this.hasObject(this.lastTag.oid))) keep.add(this.lastTag.oid);
      const { filename } = await git.packObjects({
        fs,
        gitdir: this.gitdir,
        oids: [...keep],
        write: true,
        cache,
      });
      await git.indexPack({
        fs,
        dir: this.gitdir,
        gitdir: this.gitdir,
        filepath: `objects/pack/${filename}`,
        cache,
      });
      if (
        !(await packIsWhole(
          path.join(packDir, filename.replace(/\.pack$/, '.idx')),
          path.join(packDir, filename),
        ))
      )
        throw new Error(`the compacted pack ${filename} is not whole`);
      // The kept commits' parents are gone: they are the shallow boundary now.
      await writeDurable(path.join(this.gitdir, 'shallow'), `${commits.sort().join('\n')}\n`);
      const stem = filename.slice(0, -'.pack'.length);
      for (const name of await readdir(packDir)) {
        if (!name.startsWith(stem) && /\.(pack|idx)$/.test(name))
          await rm(path.join(packDir, name), { force: true });
      }
      for (const folder of loose) await rm(path.join(objects, folder), { recursive: true, force: true });
      this.verified.clear();
      this.opts.log.info(
        { gitdir: this.gitdir, packsBefore: packs.length, looseFolders: loose.length, objects: keep.size },
        'Compacted the Git cache into one pack.',
      );
      return true;
    } catch (err) {
      this.opts.log.warn(
        { gitdir: this.gitdir, err: (err as Error).message },
        'Git cache compaction failed; kept as it was.',
      );
      return false;
    }
  }

  private async collectTree(oid: string, into: Set<string>, cache: GitCache): Promise<void> {
    if (into.has(oid)) return;
    into.add(oid);
    const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid, cache });
    for (const entry of tree) {
      if (entry.type === 'tree') await this.collectTree(entry.oid, into, cache);
      else if (entry.type === 'blob') into.add(entry.oid);
    }
  }

  private fail(err: unknown): void {
    const { reason, reachable } = classifyFetchError(err);
    const since = this.current.error?.reason === reason ? this.current.error.since : this.now().toISOString();
    const message = describeFetchError(err, this.displayUrl, this.opts.ref);
    this.current = { ...this.current, reachable, error: { reason, message, since } };
    this.opts.log.warn(
      { reason, since, commit: this.current.commit, err: message },
      'Fetch failed; keeping the last commit.',
    );
  }

  /**
   * Remove packfiles that are not whole: an index with a wrong header or checksum, or a pack whose
   * header or trailing checksum does not match its index. Returns how many; the objects they held
   * are fetched again. Reads every index (small) and each pack's first and last bytes only.
   */
  private async dropDamagedPacks(): Promise<number> {
    const dir = path.join(this.gitdir, 'objects', 'pack');
    const names = await readdir(dir).catch(() => [] as string[]);
    let dropped = 0;
    for (const idx of names.filter((n) => n.endsWith('.idx'))) {
      const pack = `${idx.slice(0, -'.idx'.length)}.pack`;
      if (await packIsWhole(path.join(dir, idx), path.join(dir, pack))) continue;
      await rm(path.join(dir, idx), { force: true });
      await rm(path.join(dir, pack), { force: true });
      dropped++;
    }
    if (dropped > 0) {
      this.verified.clear();
      this.opts.log.warn({ gitdir: this.gitdir, dropped }, 'Dropped damaged packfiles from the Git cache.');
    }
    return dropped;
  }

  private localRef(ref: string): string {
    if (ref.startsWith('refs/')) return ref;
    if (SHA.test(ref)) return `refs/strata/pinned/${ref}`;
    return `refs/heads/${ref}`;
  }

  /** Credentials from files, read at each use; never logged or kept. */
  private async credentials(): Promise<{
    headers?: Record<string, string>;
    onAuth?: () => { username: string; password: string };
    onAuthFailure?: () => { cancel: true };
  }> {
    const auth = this.opts.auth;
    if (!auth || 'sshKeyFile' in auth) return {};
    if ('tokenFile' in auth) {
      const token = (await readFile(auth.tokenFile, 'utf8')).trim();
      return { headers: { Authorization: `Bearer ${token}` } };
    }
    const username = auth.usernameFile
      ? (await readFile(auth.usernameFile, 'utf8')).trim()
      : (auth.username ?? 'git');
    const password = (await readFile(auth.passwordFile, 'utf8')).trim();
    return { onAuth: () => ({ username, password }), onAuthFailure: () => ({ cancel: true }) };
  }

  private async withDeadline<T>(run: (http: HttpClient) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    const auth = this.opts.auth;
    if (this.ssh && auth && 'sshKeyFile' in auth) {
      const client = sshHttpClient({ remote: this.ssh, auth, signal, timeoutMs: this.opts.timeoutMs });
      try {
        return await run(client);
      } finally {
        client.close();
      }
    }
    return run(deadlineHttpClient(signal, this.opts.timeoutMs));
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  private async resetCache(): Promise<void> {
    await rm(this.gitdir, { recursive: true, force: true });
    await rm(path.join(this.opts.cacheDir, STATE_FILE), { force: true });
    await this.initCache();
  }

  private async initCache(): Promise<void> {
    await mkdir(this.gitdir, { recursive: true });
    await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: 'main' });
    await git.setConfig({ fs, gitdir: this.gitdir, path: 'remote.origin.url', value: this.opts.url });
    // Every fetched ref, also refs/pull/*, lands under one remote namespace.
    await git.setConfig({
      fs,
      gitdir: this.gitdir,
      path: 'remote.origin.fetch',
      value: '+refs/*:refs/remotes/origin/*',
    });
  }

  private async readStateFile(): Promise<
    { commit: string; fetchedAt: string | null; verified: string | null } | undefined
  > {
    try {
      const saved = JSON.parse(await readFile(path.join(this.opts.cacheDir, STATE_FILE), 'utf8')) as unknown;
      if (typeof saved !== 'object' || saved === null) return undefined;
      const { commit, fetchedAt, url, ref, verified } = saved as Record<string, unknown>;
      // A state file of another URL or ref is not ours to trust.
      if (url !== this.opts.url || ref !== this.opts.ref || typeof commit !== 'string' || !SHA.test(commit)) {
        return undefined;
      }
      return {
        commit,
        fetchedAt: typeof fetchedAt === 'string' ? fetchedAt : null,
        verified: typeof verified === 'string' ? verified : null,
      };
    } catch {
      return undefined;
    }
  }

  private async writeStateFile(): Promise<void> {
    const file = path.join(this.opts.cacheDir, STATE_FILE);
    const body = JSON.stringify({
      url: this.opts.url,
      ref: this.opts.ref,
      commit: this.current.commit,
      fetchedAt: this.current.fetchedAt,
      verified: await this.policyStamp(),
    });
    await writeDurable(file, body);
  }
}
