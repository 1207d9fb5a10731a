// "Every command in the README is run by a test." Extracts the shell commands of README.md's `sh`
// blocks and requires each to be covered by exactly one entry below: run here for real (cheap
// ones), run by a named end-to-end test or by CI (whose file must show it), or — benchmarks only —
// named as not run by tests, which the README says in plain words. A README command that no entry
// covers fails this file.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentConfig } from '../../../agent/src/config/schema.js';
import { demoGuide, toolsOnPath } from '../../../examples/demo/guide.js';
import { toolPath } from '../../support/tools.js';
import { helmBinary } from '../charts/helm.js';
import { codeBlocks, README, ROOT, readme, shellCommands, yamlBlockAfter } from './markdown.js';

const text = readme();
const commands = shellCommands(text);

/** The demo's printed commands with its default ports and folder, as the README's tour shows them. */
const tourCommands = demoGuide({
  hubUrl: 'http://127.0.0.1:8080',
  gitUrl: 'http://127.0.0.1:8081/fleet.git',
  dir: '.lab/demo',
}).flatMap((step) => step.commands);

interface Evidence {
  file: string;
  contains: string[];
}

type Coverage =
  | { name: string; match: (c: string) => boolean; how: 'run' }
  | { name: string; match: (c: string) => boolean; how: 'test' | 'ci'; evidence: Evidence[] }
  | { name: string; match: (c: string) => boolean; how: 'benchmark (not run by tests)'; script: string };

const DEMO_TEST = 'test/e2e/demo.test.ts';
/** The tour's render of the example fleet, with the demo's kustomize and helm on PATH. */
const RENDER_FLEET = `${toolsOnPath('.lab/demo')} npm run -s strata -- render --repo examples/fleet`;
const exact = (command: string) => (c: string) => c === command;

const COVERAGE: Coverage[] = [
  {
    name: 'npm ci && npm run demo',
    match: exact('npm ci && npm run demo'),
    how: 'test',
    evidence: [
      { file: '.ci/run', contains: ['npm ci'] },
      { file: DEMO_TEST, contains: ["spawn('npm', ['run', 'demo', '--'"] },
    ],
  },
  {
    name: 'npm ci && npm test',
    match: exact('npm ci && npm test'),
    how: 'ci',
    evidence: [{ file: '.ci/run', contains: ['npm ci', 'npm test'] }],
  },
  {
    name: 'apt-get install of the Debian packages the tests need',
    match: exact('apt-get install -y git chromium postgresql openssh-server gnupg'),
    how: 'ci',
    evidence: [
      {
        file: '.ci/run',
        contains: [
          'apt-get install',
          'need+=(git)',
          'need+=(chromium)',
          'need+=(postgresql)',
          'need+=(openssh-server)',
          'need+=(gnupg)',
        ],
      },
    ],
  },
  {
    name: "the demo's printed commands (tour steps 1-3)",
    match: (c) => tourCommands.includes(c),
    how: 'test',
    evidence: [{ file: DEMO_TEST, contains: ['demoGuide(', 'for (const command of step.commands)'] }],
  },
  {
    name: 'strata render of the example fleet',
    match: (c) => c.startsWith(`${RENDER_FLEET} `),
    how: 'run',
  },
  { name: 'strata --help pages', match: (c) => /^npm run -s strata -- (\w+ )?--help$/.test(c), how: 'run' },
  {
    name: 'strata agent --config',
    match: exact('npm run -s strata -- agent --config agent.yaml'),
    how: 'test',
    evidence: [
      { file: 'examples/demo/agents.ts', contains: ["'agent', '--config', configFile"] },
      { file: DEMO_TEST, contains: ['Synced'] },
    ],
  },
  {
    name: 'strata hub token create',
    match: (c) => c.startsWith('npm run -s strata -- hub token create '),
    how: 'run',
  },
  { name: 'strata hub serve', match: (c) => c.startsWith('npm run -s strata -- hub serve '), how: 'run' },
  { name: 'helm lint with the README values', match: (c) => c.startsWith('helm lint '), how: 'run' },
  {
    name: 'helm install with the README values',
    match: (c) => c.startsWith('helm install '),
    how: 'test',
    evidence: [{ file: DEMO_TEST, contains: ["startsWith('helm install ')", 'installs the agent chart'] }],
  },
  {
    name: 'npm run lab',
    match: (c) => c.startsWith('npm run lab -- '),
    how: 'test',
    evidence: [{ file: DEMO_TEST, contains: ["startsWith('npm run lab -- ')"] }],
  },
  ...['render', 'sync', 'agent', 'hub', 'preview', 'fleet', 'real', 'peers'].map(
    (name): Coverage => ({
      name: `npm run bench:${name}`,
      match: exact(`npm run bench:${name}`),
      how: 'benchmark (not run by tests)',
      script: `bench:${name}`,
    }),
  ),
];

function coverageOf(command: string): Coverage[] {
  return COVERAGE.filter((entry) => entry.match(command));
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Live processes of process group `pgid`. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state !== 'Z' && Number(group) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, probe: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

const only = (predicate: (c: string) => boolean): string[] => commands.filter(predicate);

describe('README.md commands', () => {
  it('has shell commands to check', () => {
    expect(commands.length).toBeGreaterThan(20);
  });

  it('covers every shell command by exactly one test, CI step or named benchmark', () => {
    const uncovered = commands.filter((c) => coverageOf(c).length === 0);
    const ambiguous = commands.filter((c) => coverageOf(c).length > 1);
    expect(uncovered, 'README commands no test covers: add a test, then an entry here').toEqual([]);
    expect(ambiguous).toEqual([]);
  });

  it('has no coverage entry left without a README command', () => {
    const stale = COVERAGE.filter((entry) => !commands.some((c) => entry.match(c))).map((e) => e.name);
    expect(stale).toEqual([]);
  });

  it('names tests and CI steps that really contain what they are said to run', () => {
    for (const entry of COVERAGE) {
      if (entry.how !== 'test' && entry.how !== 'ci') continue;
      for (const { file, contains } of entry.evidence) {
        const source = readFileSync(path.join(ROOT, file), 'utf8');
        for (const needle of contains)
          expect(source, `${entry.name}: ${file} should contain ${needle}`).toContain(needle);
      }
    }
  });

  it('shows the tour exactly as the demo prints it (the demo test runs those commands)', () => {
    const inReadme = commands.filter((c) => tourCommands.includes(c));
    expect(inReadme).toEqual(tourCommands);
  });

  it('lists only benchmarks that exist, and says they are not run by the tests', () => {
    const scripts = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    for (const entry of COVERAGE) {
      if (entry.how !== 'benchmark (not run by tests)') continue;
      const script = scripts[entry.script];
      expect(script, entry.script).toMatch(/^tsx bench\/\w+\.ts$/);
      expect(existsSync(path.join(ROOT, script!.replace('tsx ', '')))).toBe(true);
    }
    expect(text).toContain('are not part of `npm test`');
  });

  it('links only to files that exist', () => {
    const links = [...text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    const missing = links.filter((l) => !existsSync(path.join(ROOT, l)));
    expect(missing).toEqual([]);
  });

  it('shows an agent config that the agent schema accepts', () => {
    const parsed = AgentConfig.safeParse(parse(yamlBlockAfter(text, 'A typical file:')));
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data?.cluster.name).toBe('prod-hz');
    expect(parsed.data?.sources[0]?.previewRefs).toBe('refs/pull/*/head');
  });

  it('shows the example fleet strata.yaml as it is', () => {
    const shown = codeBlocks(text).find((b) => b.lang === 'yaml' && b.text.includes('kind: Fleet'));
    const file = readFileSync(path.join(ROOT, 'examples/fleet/strata.yaml'), 'utf8');
    expect(parse(shown!.text)).toEqual(parse(file));
  });
});

describe('README.md commands run for real', () => {
  it.each(only((c) => c.startsWith(`${RENDER_FLEET} `)))(
    '%s',
    async (command) => {
      // Without a demo under .lab/demo, the same binaries from the tools cache, on PATH.
      const tools = [path.dirname(toolPath('kustomize')), path.dirname(toolPath('helm'))];
      const result = await run(command, { env: { PATH: [...tools, process.env.PATH].join(':') } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      if (command.includes('--explain')) {
        expect(result.stdout).toContain('envs/prod: skipped, no such folder');
        expect(result.stdout).toContain('deleted by tiers/edge/no-monitoring.yaml');
        expect(result.stdout).toContain('built by kustomize from global/cache');
        // The chart's provenance exactly as the README shows it.
        const shown = codeBlocks(text).find((b) => b.text.startsWith('chart strata.dev/HelmChart/shop/api'));
        expect(shown, 'the README shows the chart values explained').toBeDefined();
        expect(result.stdout).toContain(shown!.text.trimEnd());
      } else {
        const objects = result.stdout.split(/^---$/m).map((doc) => parse(doc));
        const web = objects.find((o) => o?.kind === 'Deployment' && o.metadata.name === 'web');
        expect(web.spec.replicas).toBe(5);
        expect(web.spec.template.spec.containers[0].image).toBe(
          'registry-cn-hangzhou.example.com/shop/web:1.25',
        );
        const api = objects.find((o) => o?.kind === 'Deployment' && o.metadata.name === 'api');
        expect(api.spec.replicas).toBe(4);
      }
    },
    60_000,
  );

  it.each(only((c) => /^npm run -s strata -- (\w+ )?--help$/.test(c)))(
    '%s',
    async (command) => {
      const result = await run(command);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/usage/i);
      const verb = /-- (\w+) --help/.exec(command)?.[1];
      if (verb) expect(result.stdout).toContain(`strata ${verb}`);
    },
    60_000,
  );

  describe('hub commands (database under .lab/, removed before and after)', () => {
    const [create] = only((c) => c.startsWith('npm run -s strata -- hub token create '));
    const [serve] = only((c) => c.startsWith('npm run -s strata -- hub serve '));
    const db = /--db (\S+)/.exec(create ?? '')?.[1] ?? '';
    const clean = () => {
      for (const suffix of ['', '-wal', '-shm', '.read-token'])
        rmSync(path.join(ROOT, `${db}${suffix}`), { force: true });
    };
    let hub: ChildProcess | undefined;
    beforeAll(() => {
      expect(db).toMatch(/^\.lab\//);
      expect(serve).toContain(`--db ${db}`);
      clean();
    });
    afterAll(async () => {
      if (hub?.pid && groupMembers(hub.pid).length > 0) {
        process.kill(-hub.pid, 'SIGKILL');
        await sleep(200);
      }
      clean();
    });

    it('creates a token: printed once, on stdout alone', { timeout: 60_000 }, async () => {
      const result = await run(create!);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toMatch(/^strata_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(result.stderr).toContain('for cluster prod-hz');
    });

    it('serves the hub, which knows the cluster of that token, and stops on Ctrl-C', {
      timeout: 60_000,
    }, async () => {
      const listen = /--listen (\S+)/.exec(serve!)?.[1];
      const busy = await fetch(`http://${listen}/`).then(
        () => true,
        () => false,
      );
      expect(busy, `${listen} is taken by another process: stop it to run this test`).toBe(false);
      // Its own process group, so Ctrl-C can be sent the way a terminal sends it: to npm, sh, tsx and node.
      hub = spawn('bash', ['-c', `exec ${serve}`], {
        cwd: ROOT,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      hub.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<string>((resolve) =>
        hub!.once('exit', (code, signal) => resolve(code === null ? String(signal) : `exit ${code}`)),
      );
      await until(
        'the hub to answer',
        async () => {
          if (hub!.exitCode !== null) throw new Error(`hub serve exited ${hub!.exitCode}: ${stderr}`);
          await fetch(`http://${listen}/healthz`);
        },
        45_000,
      );
      // The README says where the generated read token is: reads need it.
      const file = /`([^`]+\.read-token)`/.exec(text)?.[1];
      expect(file).toBe(`${db}.read-token`);
      expect((await fetch(`http://${listen}/api/v1/clusters`)).status).toBe(401);
      const readToken = readFileSync(path.join(ROOT, file!), 'utf8').trim();
      const fleet = (await (
        await fetch(`http://${listen}/api/v1/clusters`, { headers: { authorization: `Bearer ${readToken}` } })
      ).json()) as { clusters: { name: string; lastSeen: string | null }[] };
      expect(fleet?.clusters.map((c) => [c.name, c.lastSeen])).toEqual([['prod-hz', null]]);
      expect((await fetch(`http://${listen}/healthz`)).status).toBe(200);
      process.kill(-hub.pid!, 'SIGINT');
      expect(['exit 0', 'SIGINT', 'exit 130']).toContain(await exited);
      await until('the hub to stop answering', async () => {
        await fetch(`http://${listen}/healthz`).then(
          () => Promise.reject(new Error('still answering')),
          () => undefined,
        );
      });
      expect(groupMembers(hub.pid!)).toEqual([]);
    });
  });

  describe('helm commands with the README values (helm built from its Go module)', () => {
    let scratch: string;
    let helmDir: string;
    beforeAll(() => {
      helmDir = path.dirname(helmBinary());
      scratch = mkdtempSync(path.join(tmpdir(), 'strata-readme-'));
      symlinkSync(path.join(ROOT, 'charts'), path.join(scratch, 'charts'));
      writeFileSync(path.join(scratch, 'agent-values.yaml'), yamlBlockAfter(text, '`agent-values.yaml`'));
    }, 30 * 60_000);
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it.each(only((c) => c.startsWith('helm lint ')))(
      '%s',
      async (command) => {
        const result = await run(command, {
          cwd: scratch,
          env: {
            PATH: `${helmDir}:${process.env.PATH}`,
            HELM_CACHE_HOME: path.join(scratch, '.helm/cache'),
            HELM_CONFIG_HOME: path.join(scratch, '.helm/config'),
            HELM_DATA_HOME: path.join(scratch, '.helm/data'),
          },
        });
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      },
      120_000,
    );
  });
});

describe('README.md file', () => {
  it('is the README at the repository root', () => {
    expect(existsSync(README)).toBe(true);
  });
});
