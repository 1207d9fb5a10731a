import type { Palette } from '../plan/format.js';
import { formatPlan, palette, summaryLine, wantsColour } from '../plan/format.js';
import type { FileTree } from '../source/tree.js';
import { syncCluster } from '../sync/sync.js';
import type { SyncEvent, SyncResult } from '../sync/types.js';
import type { OneShotArgs, Target } from './shared/oneshot.js';
import { COMMON_HELP, runOnTarget, startOneShot, targetTitle, writeJsonResults } from './shared/oneshot.js';

const HELP = `Usage: strata apply --repo DIR --cluster NAME [--labels K=V,...] [options]

Renders the fleet repository for a cluster and applies it with server-side apply (field manager
strata): CRDs, Namespaces, cluster-scoped, then namespaced objects, wave by wave; prunes
members of its ApplySet the render dropped; reports health.

Options:
${COMMON_HELP}
Exit codes: 0 everything applied, 1 errors, 2 usage error.
`;

function progressLine(e: SyncEvent, p: Palette): string | undefined {
  switch (e.type) {
    case 'planned':
      return summaryLine(e.plan);
    case 'wave':
      return e.objects > 0 ? p.bold(`Wave ${e.wave}: ${e.objects} object(s) to apply`) : undefined;
    case 'step':
      return p.dim(`  ${e.step}: ${e.objects}`);
    case 'object':
      return e.outcome.result === 'failed'
        ? `  ${p.red('✗ failed ')}  ${e.outcome.id}: ${e.outcome.error?.reason}: ${e.outcome.error?.message}`
        : `  ${p.green(`✓ ${e.outcome.result.padEnd(8)}`)} ${e.outcome.id}`;
    case 'waiting':
      return p.dim(`  … waiting for wave ${e.wave} to become healthy`);
    case 'pruned':
      return e.outcome.result === 'failed'
        ? `  ${p.red('✗ prune failed')} ${e.outcome.id}: ${e.outcome.error?.message}`
        : `  ${p.red(`- ${e.outcome.result.padEnd(8)}`)} ${e.outcome.id}`;
    case 'prune-refused':
      return `  ${p.magenta('! prune refused:')} ${e.reason}`;
  }
}

function summary(title: string, r: SyncResult, p: Palette): string {
  const c = r.counts;
  const lines = [
    `${title}: ${c.created} created, ${c.updated} updated, ${c.replaced} replaced, ${c.pruned} pruned, ${c.unchanged} unchanged, ${r.errors.length} error(s).`,
    `Phase: ${r.phase}; health: ${r.health.status}; ${r.stats.requests} API requests.`,
  ];
  for (const d of r.drift) lines.push(`  drift ${d.action}: ${d.id} (${d.fields.join(', ')})`);
  for (const c2 of r.conflicts) lines.push(`  conflict: ${c2.id} ${c2.field} owned by "${c2.manager}"`);
  for (const e of r.errors)
    lines.push(`  ${p.red('error')}: ${e.id ? `${e.id}: ` : ''}${e.reason}: ${e.message}`);
  for (const h of r.health.objects.filter((o) => o.status !== 'Current'))
    lines.push(`  ${h.status}: ${h.id} ${p.dim(h.message)}`);
  return `${lines.join('\n')}\n`;
}

async function applyTarget(
  args: OneShotArgs,
  tree: FileTree,
  target: Target,
  p: Palette,
): Promise<{ code: 0 | 1; json: unknown }> {
  const title = targetTitle(target);
  const text = args.format === 'text';
  const out = (line: string | undefined) => {
    if (text && line !== undefined) process.stdout.write(`${line}\n`);
  };
  out(p.bold(title));
  return runOnTarget<{ code: 0 | 1; json: unknown }>(args, tree, target, {
    renderFailed: (errors) => {
      out(`  render failed; nothing applied or pruned:\n${errors.map((e) => `    ${e}`).join('\n')}`);
      return { code: 1, json: { cluster: target.identity.name, renderErrors: errors } };
    },
    run: async (input) => {
      const result = await syncCluster({
        ...input,
        onEvent: (e) => {
          if (e.type === 'planned' && e.plan.entries.some((x) => x.action !== 'unchanged')) {
            out(formatPlan('Plan', e.plan, p).trimEnd());
          } else out(progressLine(e, p));
        },
      });
      out(summary(title, result, p).trimEnd());
      return { code: result.errors.length > 0 ? 1 : 0, json: { cluster: target.identity.name, ...result } };
    },
    failed: (message) => {
      out(`  error: ${message}`);
      return { code: 1, json: { cluster: target.identity.name, error: message } };
    },
  });
}

/** `strata apply`: one sync per cluster, with progress and a summary. */
export default async function apply(argv: string[]): Promise<number> {
  const started = await startOneShot('apply', argv, HELP);
  if (typeof started === 'number') return started;
  const { args, tree } = started;
  const p = palette(args.format === 'text' && wantsColour(process.stdout, process.env));
  const results = [];
  for (const target of args.targets) results.push(await applyTarget(args, tree, target, p));
  if (args.format === 'json') writeJsonResults(results);
  return results.some((r) => r.code === 1) ? 1 : 0;
}
