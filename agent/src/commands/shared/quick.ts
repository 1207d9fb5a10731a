/**
 * The one-shot verbs a user times against kubectl and kustomize (`render`, `plan`, `apply`), as the
 * entry of a second bundle, dist/bundle/oneshot.cjs, that `strata` loads with a V8 code cache (see
 * shared/code-cache.ts). Each verb's code still loads only when that verb runs.
 */
type Command = (argv: string[]) => Promise<number>;

/** The one-shot verbs by name, each loaded on first use. */
export const quickCommands: Record<string, () => Promise<Command>> = {
  render: async () => (await import('../render.js')).default,
  plan: async () => (await import('../plan.js')).default,
  apply: async () => (await import('../apply.js')).default,
};
