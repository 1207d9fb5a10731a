/**
 * Faults a lab cluster's own processes can suffer, for reliability tests: restart one component
 * (same flags, ports and data, so clients reconnect to the same address), or pause and resume it
 * with SIGSTOP/SIGCONT (etcd frozen: the apiserver accepts requests and cannot answer them).
 * The restarted process's pid is written back to state.json, so `labDown` still stops it.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCredentials, readState, writeState } from './lab-files.js';
import { answersOk } from './lab-http.js';
import { type Component, clusterLayout, componentArgs } from './lab-layout.js';
import { withLabLock } from './lab-lock.js';
import { isLabProcess, startProcess, stopProcesses } from './lab-process.js';

function stateOf(labDir: string, name: string) {
  const layout = clusterLayout(resolve(labDir), name);
  const state = readState(layout);
  if (!state) throw new Error(`lab: cluster ${name} has no state in ${labDir}`);
  return { layout, state };
}

/**
 * Stops `component` (SIGKILL when `kill`, else SIGTERM with a grace period) and starts it again
 * with the same flags; for the apiserver, waits until /readyz answers again. `whileDown` runs
 * after `downMs` with the component stopped (a client started during the outage), and the
 * component is started again even when it throws.
 */
export async function restartComponent(
  labDir: string,
  name: string,
  component: Component,
  opts: { kill?: boolean; downMs?: number; whileDown?: () => Promise<void> } = {},
): Promise<void> {
  await withLabLock(resolve(labDir), async () => {
    const { layout, state } = stateOf(labDir, name);
    await stopProcesses([{ component, pid: state.pids[component] }], state.binary, opts.kill ? 0 : 10_000);
    if (opts.downMs) await sleep(opts.downMs);
    let failed: unknown;
    await opts.whileDown?.().catch((err: unknown) => {
      failed = err;
    });
    const started = startProcess(
      state.binary,
      component,
      componentArgs(component, layout, state.ports),
      `${layout.logs}/${component}.log`,
    );
    writeState(layout, { ...state, pids: { ...state.pids, [component]: started.pid } });
    if (component === 'kube-apiserver') {
      const { ca, token } = readCredentials(layout);
      const deadline = Date.now() + 120_000;
      while (!(await answersOk({ url: `${state.server}/readyz`, ca, token }))) {
        if (started.exit) throw new Error(`lab: ${name} kube-apiserver exited after a restart`);
        if (Date.now() > deadline)
          throw new Error(`lab: ${name} kube-apiserver not ready 120s after a restart`);
        await sleep(200);
      }
    }
    if (failed) throw failed;
  });
}

/** SIGSTOP or SIGCONT one component's process (only when it is still the lab's own process). */
export function signalComponent(
  labDir: string,
  name: string,
  component: Component,
  signal: 'SIGSTOP' | 'SIGCONT',
): void {
  const { state } = stateOf(labDir, name);
  const pid = state.pids[component];
  if (!isLabProcess(pid, state.binary, component))
    throw new Error(`lab: ${name} ${component} is not running`);
  process.kill(pid, signal);
}
