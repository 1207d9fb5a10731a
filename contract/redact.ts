/**
 * Hiding credentials: the one marker that stands for a hidden value (a URL's user info, a Secret's
 * data in a plan, a secret field in a log line) and the one URL redactor, so the agent and the hub
 * show a remote the same way and a user can tell a redacted value from an empty one.
 */

/** What stands in for a hidden value. */
export const REDACTED = '***';

const USERINFO = /(\/\/)[^/@\s]*@/g;

/**
 * A URL with any user info replaced by the marker (`https://***@git.example.com/fleet.git`);
 * a URL without user info is returned unchanged. Idempotent.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, `$1${REDACTED}@`);
}

/** Free text (an error message) with the user info of every URL in it replaced by the marker. */
export function redactUrlsIn(text: string): string {
  return text.replace(USERINFO, `$1${REDACTED}@`);
}
