export { ClusterListError, fetchHubClusters, readClustersFile } from './clusters.js';
export { countChanges, diffRenders } from './diff.js';
export { type FleetPreviewInput, previewCluster, previewFleet } from './fleet.js';
export { groupChanges } from './group.js';
export { fetchHubCapabilities } from './hub-capabilities.js';
export { formatJson } from './json.js';
export {
  type LivePreviewOptions,
  LivePreviews,
  type PreviewEngine,
  type PreviewRunner,
  previewHook,
  reportPlan,
} from './live.js';
export { formatMarkdown, type MarkdownOptions } from './markdown.js';
export { type OpenedRef, type OpenedRefs, openRefs, RefError } from './refs.js';
export { parseRefPattern, type RefPattern } from './refs-pattern.js';
export type * from './types.js';
