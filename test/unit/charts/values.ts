/** Chart values the chart tests (unit and e2e) render with. */

/** The least a user must set: the cluster's name and the fleet repository's URL. */
export const MINIMAL_AGENT_VALUES = {
  cluster: { name: 'prod-hz' },
  sources: [{ name: 'fleet', url: 'https://git.example.com/platform/fleet.git' }],
};

/** Every option away from its default. */
export const FULL_AGENT_VALUES = {
  cluster: { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } },
  sources: [
    {
      name: 'fleet',
      url: 'https://git.example.com/platform/fleet.git',
      ref: 'release',
      path: 'fleet',
      interval: '30s',
      previewRefs: 'refs/pull/*/head',
      previewPolicy: {
        keys: { existingConfigMap: 'fleet-reviewers', items: ['allowed_signers', 'release.asc'] },
        allowRefs: ['refs/heads/preview/*'],
        openWhile: 'refs/pull/*/merge',
        maxAge: '14d',
      },
      auth: { existingSecret: 'fleet-git', tokenKey: 'pat' },
    },
    {
      name: 'addons',
      url: 'https://git.example.com/platform/addons.git',
      schedule: '0 */5 * * * *',
      timeout: '2m',
      auth: { existingSecret: 'addons-git', usernameKey: 'user', passwordKey: 'password' },
    },
  ],
  hub: {
    url: 'https://hub.example.com',
    timeout: '15s',
    auth: { existingSecret: 'hub-token', tokenKey: 'token' },
    ca: { existingSecret: 'corp-ca', key: 'ca.pem' },
  },
  drift: { policy: 'report', interval: '10m' },
  prune: { enabled: false, maxFraction: 0.25, allow: ['apps/Deployment', '/ConfigMap'] },
  outbox: { maxReports: 1000 },
  logLevel: 'debug',
  syncAuth: { existingSecret: 'agent-sync', tokenKey: 'sync-token' },
  rbac: { scope: 'namespaced', namespaced: { namespaces: ['shop', 'web'] } },
  previews: { serviceAccount: { create: true } },
  persistence: { enabled: true, size: '5Gi', storageClassName: 'fast' },
  serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
};

export const MINIMAL_HUB_VALUES = {};

export const FULL_HUB_VALUES = {
  listenPort: 8443,
  readToken: { existingSecret: 'hub-read', key: 'read-token' },
  extraArgs: ['--keep-reports', '500'],
  persistence: { enabled: false },
  service: { type: 'NodePort', port: 8080 },
  serviceMonitor: { enabled: true, interval: '15s' },
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
};
