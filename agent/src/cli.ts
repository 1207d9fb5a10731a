#!/usr/bin/env node
import { tuneV8ForAgent } from './memory.js';
import { VERSION } from './version.js';

/** A CLI verb: parses its own arguments and returns the process exit code. */
type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  render: async () => (await import('./commands/render.js')).default,
  plan: async () => (await import('./commands/plan.js')).default,
  apply: async () => (await import('./commands/apply.js')).default,
  preview: async () => (await import('./commands/preview.js')).default,
  agent: async () => (await import('./commands/agent.js')).default,
  hub: async () => (await import('./commands/hub.js')).default,
  rollout: async () => (await import('./commands/rollout.js')).default,
};

const USAGE = `strata ${VERSION} — pull-based GitOps for fleets of Kubernetes clusters

Usage: strata <command> [options]

Commands:
${Object.keys(commands)
  .map((c) => `  ${c}`)
  .join('\n')}

Run 'strata <command> --help' for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--version' || verb === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return verb ? 0 : 2;
  }
  const load = commands[verb];
  if (!load) {
    process.stderr.write(`strata: unknown command '${verb}'\n\n${USAGE}\n`);
    return 2;
  }
  // Before the agent's modules load: its V8 settings then hold from the first allocation.
  if (verb === 'agent') tuneV8ForAgent();
  const command = await load();
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`strata: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
