/**
 * Controls of a running demo from another terminal. The demo writes `<dir>/demo.json` (its pid,
 * URLs, the agents' pids and the port of a small control endpoint on 127.0.0.1); `npm run demo --
 * git stop` reads it and asks the running demo to take its Git server down.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface DemoState {
  pid: number;
  startedAt: string;
  hubUrl: string;
  gitUrl: string;
  controlPort: number;
  agents: { name: string; pid: number; configFile: string; logFile: string }[];
}

export type ControlAction = 'git stop' | 'git start';

export function demoStateFile(dir: string): string {
  return path.join(dir, 'demo.json');
}

export function writeDemoState(dir: string, state: DemoState): void {
  writeFileSync(demoStateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}

export function removeDemoState(dir: string): void {
  rmSync(demoStateFile(dir), { force: true });
}

/** The state of a demo whose process still runs, or undefined. */
export function runningDemo(dir: string): DemoState | undefined {
  const file = demoStateFile(dir);
  if (!existsSync(file)) return undefined;
  let state: DemoState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as DemoState;
  } catch {
    return undefined;
  }
  return isAlive(state.pid) ? state : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `POST /git/stop` and `POST /git/start` on 127.0.0.1; each answers one line of text. */
export async function startControl(act: (action: ControlAction) => Promise<string>): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const action = actionOf(req.method, req.url);
    if (!action) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('unknown control: use POST /git/stop or /git/start\n');
      return;
    }
    act(action).then(
      (message) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${message}\n`),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function actionOf(method: string | undefined, url: string | undefined): ControlAction | undefined {
  if (method !== 'POST') return undefined;
  if (url === '/git/stop') return 'git stop';
  if (url === '/git/start') return 'git start';
  return undefined;
}

/** Sends a control action to the demo running under `dir`; returns its answer. */
export async function sendControl(dir: string, action: ControlAction): Promise<string> {
  const state = runningDemo(dir);
  if (!state) throw new Error(`no demo is running under ${dir} (start one with: npm run demo)`);
  const answer = await fetch(`http://127.0.0.1:${state.controlPort}/${action.replace(' ', '/')}`, {
    method: 'POST',
  });
  const text = (await answer.text()).trim();
  if (!answer.ok) throw new Error(`the demo answered HTTP ${answer.status}: ${text}`);
  return text;
}
