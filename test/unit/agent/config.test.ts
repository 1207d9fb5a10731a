import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, intervalToCron, loadConfig, parseDuration } from '../../../agent/src/config/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeConfig(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('agent configuration', () => {
  it('loads a full file with defaults and paths relative to the file', async () => {
    const file = await writeConfig(
      'full.yaml',
      `cluster: { name: prod-hz, labels: { region: cn-hangzhou, env: prod } }
sources:
  - url: https://git.example.com/fleet.git
    ref: main
    path: deploy
    auth: { tokenFile: secrets/git-token }
    interval: 30s
    previewRefs: refs/pull/*/head
  - url: ./local-fleet
hub: { url: https://hub.example.com, tokenFile: hub-token }
kube: { kubeconfig: kube/config, context: lab }
drift: { policy: report }
prune: { maxFraction: 0.25, allow: [apps/Deployment, /ConfigMap] }
stateDir: state
listen: 127.0.0.1:0
`,
    );
    const { config } = await loadConfig({ argv: ['--config', file], env: {} });
    expect(config.cluster).toEqual({ name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } });
    const [git, folder] = config.sources;
    expect(git).toMatchObject({ name: 'fleet', kind: 'git', ref: 'main', path: 'deploy', interval: 30_000 });
    expect(git?.auth).toEqual({ tokenFile: path.join(dir, 'secrets/git-token') });
    expect(folder).toMatchObject({ name: 'local-fleet', kind: 'folder', url: path.join(dir, 'local-fleet') });
    expect(config.hub?.tokenFile).toBe(path.join(dir, 'hub-token'));
    expect(config.kube).toEqual({
      inCluster: false,
      kubeconfig: path.join(dir, 'kube/config'),
      context: 'lab',
      namespace: 'strata-system',
      insecureSkipTlsVerify: false,
      execEnv: [],
      timeout: 60_000,
    });
    expect(config.drift.policy).toBe('report');
    expect(config.prune).toEqual({
      enabled: true,
      maxFraction: 0.25,
      allow: ['apps/Deployment', '/ConfigMap'],
    });
    expect(config.stateDir).toBe(path.join(dir, 'state'));
  });

  it('lets environment override the file and flags override both', async () => {
    const file = await writeConfig(
      'layer.yaml',
      'cluster: { name: from-file }\nsources: [{ url: https://g/x.git }]\nlog: { level: warn }\n',
    );
    const env = {
      STRATA_CLUSTER_NAME: 'from-env',
      STRATA_CLUSTER_LABELS: 'region=hz,env=dev',
      STRATA_LOG_LEVEL: 'debug',
    };
    const { config } = await loadConfig({
      argv: ['--config', file, '--cluster-name', 'from-flag', '--label', 'env=prod'],
      env,
    });
    expect(config.cluster.name).toBe('from-flag');
    expect(config.cluster.labels).toEqual({ region: 'hz', env: 'prod' });
    expect(config.log.level).toBe('debug');
  });

  it('names the field path of every invalid value', async () => {
    const file = await writeConfig(
      'bad.yaml',
      `cluster: { name: Prod_HZ }
sources:
  - url: https://g/x.git
    interval: soon
  - url: https://g/y.git
    ref: "bad ref"
    previewRefs: pull/*
drift: { policy: ignore }
prune: { maxFraction: 2 }
`,
    );
    const err = await configError(loadConfig({ argv: ['--config', file], env: {} }));
    const fields = err.issues.map((i) => i.field).sort();
    expect(fields).toEqual([
      'cluster.name',
      'drift.policy',
      'prune.maxFraction',
      'sources[0].interval',
      'sources[1].previewRefs',
      'sources[1].ref',
    ]);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/sources\[0\]\.interval: "soon" is not a duration/);
  });

  it('names a preview policy that cannot mean what it says', async () => {
    const file = await writeConfig(
      'preview-policy.yaml',
      `cluster: { name: a }
sources:
  - url: https://g/x.git
    previewPolicy: { trust: everyone }
  - url: https://g/y.git
    previewRefs: refs/pull/*/head
    previewPolicy: { trust: everyone, allowRefs: [refs/heads/preview/*] }
  - url: https://g/z.git
    previewRefs: refs/pull/*/head
    previewPolicy: { trust: signed, keys: [], allowRefs: [heads/x] }
  - url: https://g/w.git
    previewRefs: refs/pull/*/head
    previewPolicy: { trust: everyone, maxAge: 10m }
  - url: https://g/v.git
    previewRefs: refs/pull/*/head
    previewPolicy: { trust: everyone, openWhile: refs/merge-requests/merge }
`,
    );
    const err = await configError(loadConfig({ argv: ['--config', file], env: {} }));
    expect(err.issues.map((i) => `${i.field}: ${i.message}`).sort()).toEqual([
      'sources[0].previewPolicy: previewPolicy needs previewRefs (the refs it decides about)',
      'sources[1].previewPolicy.trust: keys and allowRefs narrow trust: signed; with trust: everyone every ref is previewed',
      'sources[2].previewPolicy.allowRefs[0]: must be a ref pattern starting with refs/',
      'sources[2].previewPolicy.keys: list at least one public key file',
      'sources[3].previewPolicy.maxAge: must be between 3600000ms and 31536000000ms, got 600000ms',
      'sources[4].previewPolicy.openWhile: must have as many * as previewRefs (refs/pull/*/head): each names the same pull request',
    ]);
  });

  it('rejects unknown fields instead of ignoring a typo', async () => {
    const file = await writeConfig(
      'typo.yaml',
      'cluster: { name: a }\nsources: [{ url: https://g/x.git, intervall: 5s }]\n',
    );
    const err = await configError(loadConfig({ argv: ['--config', file], env: {} }));
    expect(err.issues[0]?.field).toBe('sources[0]');
    expect(err.issues[0]?.message).toMatch(/intervall/);
  });

  it('reports a YAML syntax error with the file and line', async () => {
    const file = await writeConfig('syntax.yaml', 'cluster:\n  name: a\n sources: [\n');
    const err = await configError(loadConfig({ argv: ['--config', file], env: {} }));
    expect(err.message).toMatch(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: invalid YAML`),
    );
  });

  it('needs at least one source and a cluster name', async () => {
    const err = await configError(loadConfig({ argv: [], env: {} }));
    expect(err.issues.map((i) => i.field).sort()).toEqual(['cluster', 'sources']);
  });

  it('refuses a sub-path that leaves the repository and duplicate source names', async () => {
    const f1 = await writeConfig(
      'trav.yaml',
      'cluster: { name: a }\nsources: [{ url: https://g/x.git, path: ../etc }]\n',
    );
    expect((await configError(loadConfig({ argv: ['--config', f1], env: {} }))).issues[0]?.field).toBe(
      'sources[0].path',
    );
    const f2 = await writeConfig(
      'dup.yaml',
      'cluster: { name: a }\nsources: [{ url: https://g/x.git, name: s }, { url: https://h/y.git, name: s }]\n',
    );
    expect((await configError(loadConfig({ argv: ['--config', f2], env: {} }))).issues[0]?.field).toBe(
      'sources[1].name',
    );
  });

  it('builds a single source from flags', async () => {
    const { config, once } = await loadConfig({
      argv: ['--cluster-name', 'edge-1', '--source', 'https://g/fleet.git', '--ref', 'v1.2', '--once'],
      env: {},
    });
    expect(once).toBe(true);
    expect(config.sources).toHaveLength(1);
    expect(config.sources[0]).toMatchObject({
      url: 'https://g/fleet.git',
      ref: 'v1.2',
      kind: 'git',
      name: 'fleet',
    });
  });

  it('refuses an unknown flag with the usage text', async () => {
    const err = await configError(loadConfig({ argv: ['--clustr-name', 'x'], env: {} }));
    expect(err.message).toMatch(/clustr-name/);
    expect(err.message).toMatch(/Usage: strata agent/);
  });
});

describe('durations', () => {
  it('parses compound durations and refuses nonsense', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('5 minutes')).toBeUndefined();
  });

  it('turns even intervals into node-cron expressions', () => {
    expect(intervalToCron(5_000)).toBe('*/5 * * * * *');
    expect(intervalToCron(60_000)).toBe('0 * * * * *');
    expect(intervalToCron(15 * 60_000)).toBe('0 */15 * * * *');
    expect(intervalToCron(7_000)).toBeUndefined();
  });
});
