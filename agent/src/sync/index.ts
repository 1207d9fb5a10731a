export { DEFAULT_POLICY, resolvePolicy, type SyncPolicy } from './policy.js';
export { reportSections } from './report.js';
export { type ClusterPlan, planCluster, type SyncInput, syncCluster } from './sync.js';
export type { SyncConflict, SyncDrift, SyncError, SyncEvent, SyncHealth, SyncResult } from './types.js';
