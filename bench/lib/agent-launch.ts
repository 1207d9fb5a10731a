/**
 * Running `strata agent` in a benchmark exactly as the image runs it: the runtime stage's
 * ENTRYPOINT (its /app paths pointing into this repository) and ENV, read from the Dockerfile.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execForm, parseDockerfile, stageEnv } from '../../test/unit/dockerfile/dockerfile.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The image's command and environment. Falls back to the sources through tsx when the bundle is
 * older than them (a benchmark that must measure the bundle runs `npm run build` first).
 */
type Launch = { command: string[]; env: Record<string, string>; bundled: boolean };
let pinned: Launch | undefined;

/**
 * Keeps this process on the launch it has now (a benchmark calls it right after building): an
 * agent restarted later in the run must not fall back to the sources because they were edited
 * (a checkout, a rebase) after the build.
 */
export function pinAgentLaunch(): Launch {
  pinned = undefined;
  pinned = agentLaunch();
  return pinned;
}

export function agentLaunch(): Launch {
  if (pinned) return pinned;
  const runtime = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).at(-1);
  const entry = runtime?.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  const argv = entry && execForm(entry);
  if (!runtime || !argv || argv[0] !== 'node') throw new Error('Dockerfile: no exec-form node ENTRYPOINT');
  const env = stageEnv(runtime);
  const args = argv.slice(1).map((a) => a.replace(/^\/app\//, `${ROOT}/`));
  const script = args.find((a) => a.endsWith('.js'));
  if (
    script &&
    existsSync(script) &&
    statSync(script).mtimeMs >= newestSource(path.join(ROOT, 'agent/src'))
  ) {
    return { command: [process.execPath, ...args], env, bundled: true };
  }
  return {
    command: [process.execPath, '--import', 'tsx', path.join(ROOT, 'agent/src/cli.ts')],
    env,
    bundled: false,
  };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** How the launch reads on a command line: `NODE_ENV=production … node dist/bundle/strata.js`. */
export function agentCommandLine(): string {
  const launch = agentLaunch();
  const envText = Object.entries(launch.env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const args = launch.command.slice(1).map((a) => path.relative(ROOT, a) || a);
  return `${envText}node ${args.join(' ')}`;
}

export interface AgentRun {
  pid: number;
  port: number;
  /** SIGTERM, and resolves once the process has exited (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Starts `strata agent --config FILE` (its config must log at info on 127.0.0.1:0) and resolves
 * with its port once it logs "Listening.". `extraNodeArgs` go before the script (experiments).
 */
export async function startAgent(
  configFile: string,
  opts: { extraNodeArgs?: string[]; logFile?: string } = {},
): Promise<AgentRun> {
  const { command, env } = agentLaunch();
  const [cmd, ...args] = command as [string, ...string[]];
  const child = spawn(cmd, [...(opts.extraNodeArgs ?? []), ...args, 'agent', '--config', configFile], {
    stdio: ['ignore', 'pipe', opts.logFile ? 'pipe' : 'inherit'],
    env: { ...process.env, ...env },
  });
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  if (log) child.stderr?.pipe(log);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('agent did not listen within 60 s')), 60_000);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"Listening\."/.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited ${code} before listening: ${buf.slice(-2000)}`));
    });
  });
  if (log) child.stdout?.pipe(log);
  else child.stdout?.resume();
  return {
    pid: child.pid as number,
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
