/**
 * The demo's command line: `npm run demo -- [run] [--dir D] [--port P] [--git-port P] [--interval 5s]
 * [--exit-when-synced] [--timeout 900]`, and the controls of a running demo:
 * `npm run demo -- git stop|start [--dir D]`. Pure: argv in, a command out.
 */
import { parseArgs } from 'node:util';

export const DEMO_CLUSTERS = ['prod-hz', 'prod-sh', 'edge-1'] as const;

export interface DemoOptions {
  /** Lab folder: clusters, Git repositories, hub database, agent configs and logs. */
  dir: string;
  /** Hub port on 127.0.0.1 (0 picks a free one). */
  port: number;
  /** Git server port on 127.0.0.1 (0 picks a free one). */
  gitPort: number;
  /** Reconcile interval of every agent, as the agent config writes it (`5s`). */
  interval: string;
  /** Exit 0 once the hub shows every cluster Synced on the current commit (after clean-up). */
  exitWhenSynced: boolean;
  /** Give up (exit 1) when the clusters are not all Synced after this many seconds. */
  timeoutSeconds: number;
}

export type DemoCommand =
  | { kind: 'run'; options: DemoOptions }
  | { kind: 'git'; action: 'stop' | 'start'; dir: string }
  | { kind: 'help' };

export const DEMO_USAGE = `Usage:
  npm run demo -- [--dir .lab/demo] [--port 8080] [--git-port 8081] [--interval 5s]
                  [--exit-when-synced] [--timeout 900]
      starts three local clusters (${DEMO_CLUSTERS.join(', ')}), a Git server holding examples/fleet,
      a hub and three agents; Ctrl-C stops everything it started
      --port, --git-port   ports of the hub (dashboard) and the Git server on 127.0.0.1 (0: any free)
      --exit-when-synced   exit 0 once all three clusters are Synced (for scripts and tests)
      --timeout SECONDS    with --exit-when-synced: give up after this long (default 900)
  npm run demo -- git stop [--dir .lab/demo]    take the demo's Git server offline
  npm run demo -- git start [--dir .lab/demo]   bring it back`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseDemoArgs(argv: string[]): DemoCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: 'string', default: '.lab/demo' },
      port: { type: 'string', default: '8080' },
      'git-port': { type: 'string', default: '8081' },
      interval: { type: 'string', default: '5s' },
      'exit-when-synced': { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help' };
  const [verb, action, ...extra] = positionals;
  if (verb === 'git') {
    if ((action !== 'stop' && action !== 'start') || extra.length > 0) {
      throw new UsageError(`"git" takes "stop" or "start", got "${positionals.slice(1).join(' ')}"`);
    }
    return { kind: 'git', action, dir: values.dir };
  }
  if (verb !== undefined && verb !== 'run') throw new UsageError(`unknown command "${verb}"`);
  if (action !== undefined) throw new UsageError(`unexpected argument "${action}"`);
  return {
    kind: 'run',
    options: {
      dir: values.dir,
      port: integerIn('--port', values.port, 0, 65535),
      gitPort: integerIn('--git-port', values['git-port'], 0, 65535),
      interval: durationText(values.interval),
      exitWhenSynced: values['exit-when-synced'] || values.once,
      timeoutSeconds: integerIn('--timeout', values.timeout, 1, 86_400),
    },
  };
}

function integerIn(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function durationText(text: string): string {
  if (!/^\d+(ms|s|m)$/.test(text))
    throw new UsageError(`--interval must look like 5s or 500ms, got "${text}"`);
  return text;
}
