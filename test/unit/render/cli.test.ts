// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderToolsEnv } from '../../support/tools.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const FLEET = join(ROOT, 'examples/fleet');
const HZ = ['--cluster', 'prod-hz', '--labels', 'region=cn-hangzhou,env=prod'];

function strata(...args: string[]) {
  const run = spawnSync(
    join(ROOT, 'node_modules/.bin/tsx'),
    [join(ROOT, 'agent/src/cli.ts'), 'render', ...args],
    // The fleet's kustomize overlay and Helm chart need the real tools.
    { encoding: 'utf8', env: { ...process.env, ...renderToolsEnv() } },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('strata render', { timeout: 120_000 }, () => {
  it('prints the cluster objects as YAML and exits 0', () => {
    const { code, stdout } = strata('--repo', FLEET, ...HZ);
    expect(code).toBe(0);
    const docs = parseAllDocuments(stdout) as { toJS(): { kind: string; spec?: { replicas?: number } } }[];
    expect(docs.map((d) => d.toJS().kind)).toContain('Deployment');
    expect(stdout).toBe(readFileSync(join(ROOT, 'test/unit/render/golden/prod-hz.yaml'), 'utf8'));
  });

  it('--format json prints a v1 List', () => {
    const { code, stdout } = strata('--repo', FLEET, ...HZ, '--format', 'json');
    expect(code).toBe(0);
    const list = JSON.parse(stdout);
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toHaveLength(15);
  });

  it('--explain prints where every object came from', () => {
    const { code, stdout } = strata('--repo', FLEET, ...HZ, '--explain');
    expect(code).toBe(0);
    expect(stdout).toBe(readFileSync(join(ROOT, 'test/unit/render/golden/prod-hz.explain.txt'), 'utf8'));
  });

  it('--out writes one file per object', () => {
    const out = mkdtempSync(join(tmpdir(), 'strata-out-'));
    const { code, stdout } = strata('--repo', FLEET, ...HZ, '--out', out);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(readdirSync(out)).toContain('apps_Deployment_shop_web.yaml');
    expect(readFileSync(join(out, 'apps_Deployment_shop_web.yaml'), 'utf8')).toContain('replicas: 5');
  });

  it('--ref renders a commit of a Git repository, not its working tree', () => {
    const repo = mkdtempSync(join(tmpdir(), 'strata-cli-git-'));
    cpSync(FLEET, repo, { recursive: true });
    const git = (...a: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@x', ...a], {
        encoding: 'utf8',
      });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'fleet');
    writeFileSync(join(repo, 'regions/cn-hangzhou/web.yaml'), 'not: [valid');
    expect(strata('--repo', repo, ...HZ).code).toBe(1);
    const { code, stdout } = strata('--repo', repo, ...HZ, '--ref', 'main');
    expect(code).toBe(0);
    expect(stdout).toContain('replicas: 5');
  });

  it('exits 1 and lists each error with file, line and document', () => {
    const repo = mkdtempSync(join(tmpdir(), 'strata-cli-bad-'));
    cpSync(FLEET, repo, { recursive: true });
    writeFileSync(
      join(repo, 'global/bad.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${cluster.labels.zone}\n',
    );
    const { code, stdout, stderr } = strata('--repo', repo, ...HZ);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      "global/bad.yaml:4:9 (doc 0): unknown variable '${cluster.labels.zone}': cluster 'prod-hz' has no label 'zone'",
    );
  });

  it.each([
    [['--cluster', 'x'], /--repo DIR is required/],
    [['--repo', FLEET], /--cluster NAME is required/],
    [['--repo', FLEET, '--cluster', 'x', '--labels', 'novalue'], /'novalue' is not KEY=VALUE/],
    [['--repo', FLEET, '--cluster', 'x', '--format', 'xml'], /--format must be yaml or json/],
    [['--repo', FLEET, '--cluster', 'x', '--bogus'], /Unknown option/],
    [['--repo', '/no/such/dir', '--cluster', 'x'], /is not a folder/],
    [['--repo', FLEET, '--cluster', 'x', '--ref', 'main'], /cannot resolve 'main'/],
  ])('exits 2 on a usage error: %j', (args, message) => {
    const { code, stderr } = strata(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('--help prints the usage and exits 0', () => {
    const { code, stdout } = strata('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: strata render --repo DIR --cluster NAME');
  });
});
