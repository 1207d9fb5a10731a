export { ClusterListError, fetchHubClusters, readClustersFile } from './clusters.js';
export { countChanges, diffRenders } from './diff.js';
export { type FleetPreviewInput, previewCluster, previewFleet } from './fleet.js';
export { groupChanges } from './group.js';
export { formatJson } from './json.js';
export { formatMarkdown, type MarkdownOptions } from './markdown.js';
export { type OpenedRef, type OpenedRefs, openRefs, RefError, underPath } from './refs.js';
export type * from './types.js';
