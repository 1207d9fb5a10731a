#!/usr/bin/env node
import { quickCommandsBeside } from './commands/shared/code-cache.js';
import { VERSION } from './version.js';

/** A CLI verb: parses its own arguments and returns the process exit code. */
type Command = (argv: string[]) => Promise<number>;

/** A one-shot verb from the code-cached bundle beside this one, else from its own module. */
const quick =
  (verb: string, own: () => Promise<Command>): (() => Promise<Command>) =>
  async () => {
    const cached = quickCommandsBeside(import.meta.url)?.[verb];
    return cached ? cached() : own();
  };

const commands: Record<string, () => Promise<Command>> = {
  render: quick('render', async () => (await import('./commands/render.js')).default),
  plan: quick('plan', async () => (await import('./commands/plan.js')).default),
  apply: quick('apply', async () => (await import('./commands/apply.js')).default),
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
  // (node:v8 loads node:stream: imported only here, so the one-shot verbs do not pay for it).
  if (verb === 'agent') (await import('./memory.js')).tuneV8ForAgent();
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
