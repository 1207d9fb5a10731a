/**
 * Impersonation (the apiserver's `Impersonate-User` header): requests made with the agent's own
 * credentials but authorized as another identity, here a ServiceAccount the operator chose. The
 * agent's identity needs the `impersonate` verb on that ServiceAccount; the apiserver then judges
 * every request by the ServiceAccount's RBAC alone (its groups are added by the apiserver).
 */
import type { ClusterAccess } from './access.js';

const SERVICE_ACCOUNT = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** `namespace/name` → `system:serviceaccount:namespace:name`; throws naming the value otherwise. */
export function serviceAccountUser(ref: string): string {
  const match = SERVICE_ACCOUNT.exec(ref);
  if (!match) throw new Error(`'${ref}' is not a ServiceAccount reference (namespace/name)`);
  return `system:serviceaccount:${match[1]}:${match[3]}`;
}

/** The same cluster and credentials, every request made as `user`. */
export function impersonating(access: ClusterAccess, user: string): ClusterAccess {
  return {
    server: access.server,
    context: `${access.context} as ${user}`,
    async requestOptions() {
      const opts = await access.requestOptions();
      return { ...opts, headers: { ...opts.headers, 'Impersonate-User': user } };
    },
  };
}
