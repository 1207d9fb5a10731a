/**
 * SSH Git URLs, as git writes them: `ssh://[user@]host[:port]/path` and the scp-like
 * `[user@]host:path` (no port; a path without a leading slash is relative to the login's home).
 * Pure: a string in, an SshRemote or an error message out.
 */
export interface SshRemote {
  user?: string;
  host: string;
  port?: number;
  /** The repository path as the server's `git-upload-pack` receives it. */
  path: string;
}

const SCHEME = /^ssh:\/\/(?:([^@/]+)@)?(\[[0-9a-fA-F:.]+\]|[^/:@[\]]+)(?::(\d+))?(\/.*)$/;
const SCP_LIKE = /^(?:([^@/:]+)@)?(\[[0-9a-fA-F:.]+\]|[^/:@[\]]+):(?!\/\/)(.+)$/;

/** True for the two URL forms git sends over SSH. */
export function isSshUrl(url: string): boolean {
  return /^ssh:\/\//i.test(url) || (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && SCP_LIKE.test(url));
}

/** The remote of an SSH URL; throws a message naming what is wrong. */
export function parseSshUrl(url: string): SshRemote {
  const scheme = SCHEME.exec(url);
  const scp = scheme ? undefined : SCP_LIKE.exec(url);
  if (!scheme && !scp) {
    throw new Error(`"${url}" is not an SSH Git URL: write ssh://user@host[:port]/path or user@host:path`);
  }
  const user = scheme ? scheme[1] : scp?.[1];
  const host = unbracket(scheme ? (scheme[2] as string) : (scp?.[2] as string));
  const port = scheme?.[3] === undefined ? undefined : Number(scheme[3]);
  // In ssh://host/~user/repo git passes "~user/repo"; the scp form passes its path as written.
  const rawPath = scheme ? (scheme[4] as string).replace(/^\/~/, '~') : (scp?.[3] as string);
  const path = scheme ? decodeURIComponent(rawPath) : rawPath;
  // A leading "-" would be read by ssh as an option (the git CVE-2017-1000117 class of attacks).
  if (host.startsWith('-') || user?.startsWith('-'))
    throw new Error(`"${url}": host and user may not start with "-"`);
  if (/[\s\0]/.test(host) || (user !== undefined && /[\s\0]/.test(user))) {
    throw new Error(`"${url}": host and user may not contain spaces or control characters`);
  }
  if (/[\0\n\r]/.test(path)) throw new Error(`"${url}": the path may not contain newlines or NUL`);
  if (port !== undefined && (port < 1 || port > 65_535))
    throw new Error(`"${url}": port ${port} is out of range`);
  return { ...(user ? { user } : {}), host, ...(port !== undefined ? { port } : {}), path };
}

/** `host` or `[host]:port`, the key OpenSSH looks up in a known_hosts file. */
export function knownHostsName(remote: SshRemote): string {
  return remote.port === undefined || remote.port === 22 ? remote.host : `[${remote.host}]:${remote.port}`;
}

/** The path quoted for the remote shell, as git quotes it (single quotes, `'` as `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function unbracket(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
