/**
 * Bad command-line input. Every `strata` verb, the agent's and the hub's alike, answers it with its
 * help text and exit code 2, so scripts can tell a typo from a failure.
 */
export class UsageError extends Error {}
