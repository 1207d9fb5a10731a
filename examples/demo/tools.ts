/**
 * kustomize and helm for the demo: examples/fleet holds a Helm chart and a kustomize overlay, so the
 * agents (and the preview the guide prints) need both. Built from their pinned Go modules by
 * tools/build.sh (cached by its inputs, so only the first demo on a machine waits for the build)
 * and linked into `<dir>/bin/`, the one folder the guide's commands put on PATH.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Progress } from './progress.js';

const TOOL_BUILD = fileURLToPath(new URL('../../tools/build.sh', import.meta.url));

export interface DemoTools {
  kustomize: string;
  helm: string;
  /** `<dir>/bin`, holding a link to each. */
  bin: string;
}

/** The folder of links the guide puts on PATH, for a demo folder as the user gave it. */
export function demoBin(dir: string): string {
  return path.join(dir, 'bin');
}

export async function demoTools(dir: string, progress: Progress, signal: AbortSignal): Promise<DemoTools> {
  const kustomize = await buildTool('kustomize', progress, signal);
  const helm = await buildTool('helm', progress, signal);
  const bin = demoBin(dir);
  mkdirSync(bin, { recursive: true });
  for (const [name, target] of [
    ['kustomize', kustomize],
    ['helm', helm],
  ] as const) {
    rmSync(path.join(bin, name), { force: true });
    symlinkSync(target, path.join(bin, name));
  }
  return { kustomize, helm, bin };
}

/** `bash tools/build.sh NAME` in its own process group (killed on Ctrl-C); resolves with the binary's path. */
async function buildTool(name: string, progress: Progress, signal: AbortSignal): Promise<string> {
  const child = spawn('bash', [TOOL_BUILD, name], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) progress.detail(line);
  });
  const stopTicker = progress.ticker(`still building ${name} from its Go module`);
  const kill = () => {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    const binary = out.trim().split('\n').at(-1) ?? '';
    if (code !== 0 || !path.isAbsolute(binary))
      throw new Error(`${TOOL_BUILD} ${name} failed (exit ${code})`);
    return binary;
  } finally {
    stopTicker();
    signal.removeEventListener('abort', kill);
  }
}
