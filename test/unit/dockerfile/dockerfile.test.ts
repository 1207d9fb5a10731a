import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeReport } from '../hub/helpers.js';
import {
  type Copy,
  execForm,
  isIgnored,
  parseCopy,
  parseDockerfile,
  runCommands,
  type Stage,
  stageEnv,
} from './dockerfile.js';

const repo = resolve(import.meta.dirname, '../../..');
const stages = parseDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(join(repo, '.dockerignore'), 'utf8');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

const build = stages.find((s) => s.name === 'build')!;
const toolsStage = stages.find((s) => s.name === 'tools')!;
const runtime = stages.at(-1)!;
/** Where the tools stage installs kustomize and helm; replayed into a temporary folder instead. */
const TOOLS_DIR = '/opt/strata-tools';

function instructions(stage: Stage, keyword: string) {
  return stage.instructions.filter((i) => i.keyword === keyword);
}
function copies(stage: Stage): Copy[] {
  return instructions(stage, 'COPY').map(parseCopy);
}
/** The build stage's npm and node commands, in order (the apt-get line only installs compilers). */
function buildCommands(): string[] {
  return instructions(build, 'RUN')
    .flatMap(runCommands)
    .filter((c) => /^(npm|node) /.test(c));
}
/** CI's commands, from .ci/run, with the flags that only change npm's chatter dropped. */
function ciCommands(): string[] {
  return readFileSync(join(repo, '.ci/run'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(npm|node) /.test(l));
}
function normalise(command: string): string {
  return command
    .replace(/\s--no-(audit|fund)\b/g, '')
    .replace(/^npm run -s /, 'npm run ')
    .trim();
}
function sh(command: string, cwd: string): string {
  try {
    return execFileSync('bash', ['-c', command], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`'${command}' failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

describe('Dockerfile', () => {
  it('builds on Node 20 Debian bookworm in a build stage and runs on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.image).toMatch(/^node:20-bookworm(-slim)?$/);
    expect(runtime).not.toBe(build);
    expect(runtime.image).toBe('node:20-bookworm-slim');
  });

  it('installs the compilers better-sqlite3 needs in the build stage', () => {
    const apt = instructions(build, 'RUN')
      .flatMap(runCommands)
      .find((c) => c.includes('apt-get install'));
    expect(apt).toBeDefined();
    for (const tool of ['python3', 'make', 'g++']) expect(apt!.split(' ')).toContain(tool);
  });

  it('runs npm ci, the build, the version check, then npm prune --omit=dev, in that order', () => {
    expect(buildCommands().map(normalise)).toEqual([
      'npm ci',
      'npm run build',
      'node dist/agent/src/cli.js --version',
      'npm prune --omit=dev',
    ]);
  });

  it('runs in its build stage only commands that CI runs too (except the prune)', () => {
    const ci = ciCommands().map(normalise);
    for (const command of buildCommands().map(normalise)) {
      if (command === 'npm prune --omit=dev') continue;
      expect(ci, `.ci/run does not run '${command}'`).toContain(command);
    }
  });

  it('copies into the build stage every source the production build compiles', () => {
    const tsconfig = JSON.parse(readFileSync(join(repo, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    const copied = copies(build)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    for (const include of tsconfig.include) expect(copied).toContain(include);
    for (const needed of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.json',
      'tsconfig.build.json',
    ]) {
      expect(copied).toContain(needed);
    }
    for (const source of copied) {
      expect(existsSync(join(repo, source)), `COPY source ${source} is missing`).toBe(true);
      expect(isIgnored(source, dockerignore), `COPY source ${source} is excluded by .dockerignore`).toBe(
        false,
      );
    }
  });

  it('keeps local state, git history and node_modules out of the build context', () => {
    for (const path of ['.git', 'node_modules', 'dist', '.lab', 'app.db'])
      expect(isIgnored(path, dockerignore)).toBe(true);
  });

  it('runs as a non-root user with strata as the entrypoint', () => {
    const user = instructions(runtime, 'USER').at(-1)?.args.trim();
    expect(user).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
    const entrypoints = instructions(runtime, 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    // The bundle (tools/bundle.ts, built by `npm run build`): it keeps the agent's resident memory low.
    expect(execForm(entrypoints[0]!)).toEqual(['node', '/app/dist/bundle/strata.js']);
  });

  it('runs in production mode with one malloc arena (the agent resident memory)', () => {
    expect(stageEnv(runtime)).toMatchObject({ NODE_ENV: 'production', MALLOC_ARENA_MAX: '1' });
  });

  it('copies only package.json, node_modules and dist from the build stage into the runtime', () => {
    const fromBuild = copies(runtime).filter((c) => c.from !== 'tools');
    expect(fromBuild.every((c) => c.from === 'build')).toBe(true);
    expect(fromBuild.flatMap((c) => c.sources).sort()).toEqual([
      '/src/dist',
      '/src/node_modules',
      '/src/package.json',
    ]);
  });
});

describe('Dockerfile tools stage', () => {
  it('builds kustomize and helm with tools/build.sh from the pinned modules, and ships only them onto PATH', () => {
    expect(toolsStage.image).toMatch(/^golang:1\.\d+-bookworm$/);
    expect(
      copies(toolsStage)
        .flatMap((c) => c.sources)
        .sort(),
    ).toEqual(['tools/build.sh', 'tools/helm', 'tools/kustomize']);
    const runs = instructions(toolsStage, 'RUN').flatMap(runCommands);
    expect(runs.filter((c) => c.includes('tools/build.sh'))).toEqual([
      `install -D -m 0755 "$(bash tools/build.sh kustomize)" ${TOOLS_DIR}/kustomize`,
      `install -D -m 0755 "$(bash tools/build.sh helm)" ${TOOLS_DIR}/helm`,
    ]);
    expect(copies(runtime).filter((c) => c.from === 'tools')).toEqual([
      { from: 'tools', sources: [`${TOOLS_DIR}/kustomize`, `${TOOLS_DIR}/helm`], dest: '/usr/local/bin/' },
    ]);
  });
});

// Replays the Dockerfile outside Docker: the build stage's COPY and RUN lines in a temporary folder,
// then the runtime stage's COPY lines, and runs the result. `npm ci` is the one command not rerun:
// CI has just run it in the repository, so its node_modules are linked in (hard links: prune only
// unlinks, so the repository's copy is untouched).
describe('Dockerfile replayed outside Docker', () => {
  let work: string;
  let app: string;
  let tools: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'strata-dockerfile-'));
    const src = join(work, 'src');
    app = join(work, 'app');
    mkdirSync(src);
    mkdirSync(app);
    for (const copy of copies(build)) {
      for (const source of copy.sources) copyInto(join(repo, source), src, source, copy.dest);
    }
    linkTree(join(repo, 'node_modules'), join(src, 'node_modules'));
    for (const command of buildCommands()) {
      if (normalise(command) === 'npm ci') continue;
      sh(command, src);
    }
    // The tools stage: its RUN lines in a copy of its sources, installing into the replay's folder (the
    // builds come from tools/build.sh's cache, as in CI).
    const toolsSrc = join(work, 'tools-src');
    tools = join(work, 'tools-out');
    for (const copy of copies(toolsStage)) {
      for (const source of copy.sources)
        copyInto(join(repo, source), toolsSrc, source, copy.dest.replace(/^\/src\/?/, './'));
    }
    for (const command of instructions(toolsStage, 'RUN').flatMap(runCommands))
      sh(command.replaceAll(TOOLS_DIR, tools), toolsSrc);
    for (const copy of copies(runtime)) {
      if (copy.from === 'tools') continue;
      for (const source of copy.sources) {
        const inStage = join(work, source.replace(/^\/src/, 'src'));
        copyInto(inStage, app, source, copy.dest.replace(/^\/app/, '.'), { link: true });
      }
    }
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('gives the image a working kustomize and helm', () => {
    expect(sh(`${tools}/kustomize version`, work).trim()).toMatch(/^v5\./);
    expect(sh(`${tools}/helm version --short`, work).trim()).toMatch(/^v3\./);
  });

  it('gives a runtime image whose entrypoint prints the package version', () => {
    const entry = execForm(instructions(runtime, 'ENTRYPOINT')[0]!)!;
    const script = join(app, entry[1]!.replace(/^\/app\//, ''));
    const out = execFileSync(process.execPath, [script, '--version'], { cwd: app, encoding: 'utf8' });
    expect(out.trim()).toBe(pkg.version);
  });

  it('runs every verb from the entrypoint (each one its own chunk of the bundle)', () => {
    const entry = execForm(instructions(runtime, 'ENTRYPOINT')[0]!)!;
    const script = join(app, entry[1]!.replace(/^\/app\//, ''));
    const usage = execFileSync(process.execPath, [script, '--help'], { cwd: app, encoding: 'utf8' });
    const verbs = usage
      .slice(usage.indexOf('Commands:'))
      .match(/^ {2}[a-z]+$/gm)
      ?.map((v) => v.trim());
    expect(verbs).toEqual(['render', 'plan', 'apply', 'preview', 'agent', 'hub', 'rollout']);
    for (const verb of verbs!) {
      const out = execFileSync(process.execPath, [script, verb, '--help'], { cwd: app, encoding: 'utf8' });
      expect(out, `strata ${verb} --help`).toMatch(new RegExp(`strata ${verb}\\b`));
    }
  }, 60_000);

  it('renders from the entrypoint with the V8 code cache the build recorded', () => {
    const entry = execForm(instructions(runtime, 'ENTRYPOINT')[0]!)!;
    const script = join(app, entry[1]!.replace(/^\/app\//, ''));
    const fleet = join(work, 'fleet');
    mkdirSync(join(fleet, 'base'), { recursive: true });
    writeFileSync(
      join(fleet, 'strata.yaml'),
      'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: base\n',
    );
    writeFileSync(
      join(fleet, 'base/web.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: shop }\nspec: { replicas: 1 }\n',
    );
    const args = ['render', '--repo', fleet, '--cluster', 'c1'];
    const run = spawnSync(process.execPath, [script, ...args], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, STRATA_DEBUG_CODE_CACHE: '1' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('kind: Deployment');
    expect(run.stderr).toContain('strata: code cache used');
  });

  it('serves the hub from the entrypoint, its writer thread committing a report', async () => {
    const entry = execForm(instructions(runtime, 'ENTRYPOINT')[0]!)!;
    const script = join(app, entry[1]!.replace(/^\/app\//, ''));
    const db = join(work, 'hub.db');
    const token = execFileSync(process.execPath, [script, 'hub', 'token', 'create', 'edge-1', '--db', db], {
      cwd: app,
      encoding: 'utf8',
    }).trim();
    const hub = spawn(process.execPath, [script, 'hub', 'serve', '--db', db, '--listen', '127.0.0.1:0'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        hub.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /"url":"(http:[^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        hub.once('exit', (code) => reject(new Error(`hub exited with ${code} before listening: ${out}`)));
      });
      const res = await fetch(`${url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(makeReport('edge-1', 1)),
      });
      expect(res.status).toBe(200);
      // Without --public-read the hub generated a read token beside its database.
      expect((await fetch(`${url}/api/v1/clusters/edge-1`)).status).toBe(401);
      const readToken = readFileSync(`${db}.read-token`, 'utf8').trim();
      const state = (await (
        await fetch(`${url}/api/v1/clusters/edge-1`, { headers: { authorization: `Bearer ${readToken}` } })
      ).json()) as {
        cluster: { seq: number };
      };
      expect(state.cluster.seq).toBe(1);
    } finally {
      hub.kill('SIGKILL');
    }
  }, 60_000);

  it('leaves no development-only package in the runtime node_modules, and every dependency', () => {
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(
      ([path, entry]) => path !== '' && entry.dev === true,
    );
    expect(devOnly.length).toBeGreaterThan(0);
    for (const [path] of devOnly)
      expect(existsSync(join(app, path)), `${path} is still installed`).toBe(false);
    for (const dev of ['typescript', 'vitest', '@biomejs/biome', 'tsx']) {
      expect(existsSync(join(app, 'node_modules', dev)), `${dev} is still installed`).toBe(false);
    }
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(existsSync(join(app, 'node_modules', dep, 'package.json')), `${dep} is missing`).toBe(true);
    }
  });

  it('loads the native better-sqlite3 addon from the runtime node_modules', () => {
    const out = sh(
      `node -e "const D=require('better-sqlite3'); const db=new D(':memory:'); console.log(db.prepare('select 6*7 as n').get().n)"`,
      app,
    );
    expect(out.trim()).toBe('42');
  });

  it('imports every CLI command module with production dependencies only', () => {
    const modules = readdirSync(join(app, 'dist/agent/src/commands')).filter((f) => f.endsWith('.js'));
    expect(modules.length).toBeGreaterThan(0);
    // One process imports them all (each import pulls in large dependencies such as client-node).
    const script = `for (const m of ${JSON.stringify(modules)}) { const mod = await import('./dist/agent/src/commands/' + m); console.log(m + ' ' + typeof mod.default); }`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(out.trim().split('\n').sort()).toEqual(modules.map((m) => `${m} function`).sort());
  }, 120_000);
});

/**
 * Docker's COPY: a folder's contents go to dest; a file goes into dest when dest ends with '/'.
 * `link` hard-links instead of copying (between two temporary stages: fast to make and remove).
 */
function copyInto(from: string, root: string, source: string, dest: string, { link = false } = {}): void {
  const base = source.split('/').at(-1)!;
  const target = dest.endsWith('/') || dest === '.' ? join(root, dest, base) : join(root, dest);
  mkdirSync(dirname(target), { recursive: true });
  if (link) linkTree(from, target);
  else cpSync(from, target, { recursive: true });
}

/** Hard-linked copy (fast; removing files from it leaves `from` intact), or a real copy across file systems. */
function linkTree(from: string, target: string): void {
  try {
    execFileSync('cp', ['-al', from, target], { stdio: 'ignore' });
  } catch {
    rmSync(target, { recursive: true, force: true });
    execFileSync('cp', ['-a', from, target]);
  }
}
