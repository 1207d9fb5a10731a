/**
 * bench:faults — the long fault campaign: at least 300 faults of every kind, at random points
 * (seed printed; --seed replays one), against the bundled agent, the real hub, the real Git server
 * and a lab cluster of its own. Prints one row per fault kind: injected / landed / converged /
 * lost / wrongly deleted / out of order, and exits non-zero when any guarantee broke.
 *
 *   npm run bench:faults [-- --faults 300 --seed N --keep]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeApiClient } from '../agent/src/kube/client.js';
import { labDown, labUp } from '../test/cluster/lab-api.js';
import { formatTable, runCampaign } from '../test/e2e/faults/campaign.js';
import { ensureBundle } from '../test/e2e/support/bundle.js';

const { values: opts } = parseArgs({
  options: {
    faults: { type: 'string', default: '300' },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const faults = Number(opts.faults);
if (!Number.isInteger(faults) || faults < 300) {
  process.stderr.write(`bench:faults: --faults must be an integer of at least 300, got ${opts.faults}\n`);
  process.exit(2);
}
const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);

async function main(): Promise<number> {
  ensureBundle();
  const labDir = resolve(import.meta.dirname, '.work/faults-lab');
  process.stdout.write(`bench:faults: ${faults} faults, seed ${seed}; starting a lab cluster…\n`);
  const [cluster] = await labUp({ names: ['faults'], dir: labDir });
  if (!cluster) throw new Error('no lab cluster');
  const client = KubeApiClient.connect({ kubeconfig: cluster.kubeconfigPath, timeoutMs: 10_000 });
  const work = mkdtempSync(join(tmpdir(), 'strata-bench-faults-'));
  try {
    const result = await runCampaign({
      seed,
      faults,
      labDir,
      cluster,
      client,
      workDir: work,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`\n${formatTable(result)}\n`);
    for (const f of result.failures) process.stdout.write(`FAILED ${f}\n`);
    const landedMidPrune = result.rows.find((r) => r.kind === 'agent-kill-mid-prune')?.landed ?? 0;
    if (landedMidPrune === 0) process.stdout.write('FAILED no kill landed mid-prune\n');
    return result.failures.length === 0 && landedMidPrune > 0 ? 0 : 1;
  } finally {
    client.close();
    rmSync(work, { recursive: true, force: true });
    if (!opts.keep) await labDown(labDir);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `bench:faults failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
