import { formatPlan, hasChanges, palette, wantsColour } from '../plan/format.js';
import { countActions } from '../plan/types.js';
import type { FileTree } from '../source/tree.js';
import { planCluster } from '../sync/sync.js';
import type { OneShotArgs, Target } from './shared/oneshot.js';
import { COMMON_HELP, runOnTarget, startOneShot, targetTitle, writeJsonResults } from './shared/oneshot.js';

const HELP = `Usage: strata plan --repo DIR --cluster NAME [--labels K=V,...] [options]

Renders the fleet repository for a cluster and shows what applying it would change, by a
server-side-apply dry run against the live cluster. Changes nothing.

Options:
${COMMON_HELP}
Exit codes: 0 nothing to change, 1 errors, 2 usage error, 3 changes pending.
`;

/** The outcome for one target: what to print and how it ends. */
interface TargetPlan {
  text: string;
  json: Record<string, unknown>;
  code: 0 | 1 | 3;
}

async function planTarget(
  args: OneShotArgs,
  tree: FileTree,
  target: Target,
  colour: boolean,
): Promise<TargetPlan> {
  const title = targetTitle(target);
  const head = {
    cluster: target.identity.name,
    labels: target.identity.labels,
    ...(target.context ? { context: target.context } : {}),
  };
  return runOnTarget<TargetPlan>(args, tree, target, {
    renderFailed: (errors) => {
      const text = `${title}\n  render failed:\n${errors.map((e) => `    ${e}`).join('\n')}\n`;
      return { text, json: { ...head, renderErrors: errors }, code: 1 };
    },
    run: async (input) => {
      const cp = await planCluster(input);
      const errors = countActions(cp.plan.entries).error;
      const code = errors > 0 ? 1 : hasChanges(cp.plan) ? 3 : 0;
      return {
        text: formatPlan(title, cp.plan, palette(colour)),
        json: {
          ...head,
          applySet: cp.applySetId,
          plan: cp.plan,
          counts: countActions(cp.plan.entries),
          requests: input.client.requestCount,
        },
        code,
      };
    },
    failed: (message) => ({
      text: `${title}\n  error: ${message}\n`,
      json: { ...head, error: message },
      code: 1,
    }),
  });
}

/** `strata plan`: what would change, per cluster; exit 3 when something would. */
export default async function plan(argv: string[]): Promise<number> {
  const started = await startOneShot('plan', argv, HELP);
  if (typeof started === 'number') return started;
  const { args, tree } = started;
  const colour = args.format === 'text' && wantsColour(process.stdout, process.env);
  const results: TargetPlan[] = [];
  for (const target of args.targets) {
    const result = await planTarget(args, tree, target, colour);
    results.push(result);
    if (args.format === 'text') process.stdout.write(`${result.text}\n`);
  }
  if (args.format === 'json') writeJsonResults(results);
  if (results.some((r) => r.code === 1)) return 1;
  return results.some((r) => r.code === 3) ? 3 : 0;
}
