/**
 * `strata hub …`: the hub's verbs (serve, token, report-schema) in the one `strata` binary. The hub
 * is its own program; this re-export of its entry point is the only place the agent names it.
 */
export { default } from '../../../hub/src/cli.js';
