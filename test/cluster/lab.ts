/**
 * The lab CLI:
 *   npm run lab -- up --clusters hz,sh,edge [--dir .lab]
 *   npm run lab -- status [--dir .lab]
 *   npm run lab -- down [--dir .lab]
 * See lab-api.ts for what a lab cluster is.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type LabClusterStatus, labDown, labStatus, labUp } from './lab-api.js';

const USAGE = 'usage: lab up --clusters a,b [--dir .lab] | lab down [--dir .lab] | lab status [--dir .lab]';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { clusters: { type: 'string' }, dir: { type: 'string', default: '.lab' } },
  });
  const log = pino({ level: 'info' }, pino.destination(2));
  const dir = values.dir;
  switch (positionals[0]) {
    case 'up': {
      const names = (values.clusters ?? '').split(',').filter((name) => name !== '');
      if (names.length === 0) {
        console.error(`lab up: --clusters is required\n${USAGE}`);
        return 2;
      }
      const began = Date.now();
      const clusters = await labUp({ names, dir, log });
      for (const c of clusters) console.log(`${c.name}\t${c.server}\t${c.kubeconfigPath}`);
      console.error(
        `lab up: ${clusters.length} cluster(s) ready in ${((Date.now() - began) / 1000).toFixed(1)}s`,
      );
      return 0;
    }
    case 'down': {
      const stopped = await labDown(dir, log);
      console.log(
        stopped.length > 0 ? `stopped ${stopped.join(', ')}` : `no lab clusters recorded under ${dir}`,
      );
      return 0;
    }
    case 'status': {
      const clusters = await labStatus(dir);
      if (clusters.length === 0) console.log(`no lab clusters recorded under ${dir}`);
      for (const c of clusters) {
        const processes = Object.entries(c.pids).map(([component, pid]) => {
          const rss = c.rssBytes[component as keyof typeof c.rssBytes];
          const mib = rss === undefined ? 'stopped' : `${Math.round(rss / 2 ** 20)}MiB`;
          return `${component}=${pid}(${mib})`;
        });
        console.log(`${c.name}\t${healthLabel(c)}\t${c.server}\t${c.kubeconfigPath}\t${processes.join(' ')}`);
      }
      return clusters.every((c) => healthLabel(c) === 'ready') ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

function healthLabel(cluster: LabClusterStatus): string {
  if (!cluster.ready) return 'NOT READY';
  return Object.values(cluster.running).every(Boolean) ? 'ready' : 'DEGRADED';
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
