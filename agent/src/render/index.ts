export { matchesSelector, parseSelector } from '../../../contract/selector.js';
export type { ParsedDocument } from './documents.js';
export { formatLocation, formatRenderError, RenderError, type SourceLocation } from './errors.js';
export { DEFAULT_MAX_FILE_BYTES } from './files.js';
export { DEFAULT_LAYERS, resolveLayers } from './layers.js';
export { strategicMerge } from './merge.js';
export { explainRender, objectFileName, toJsonList, toYamlStream } from './output.js';
export type * from './provenance.js';
export {
  createParseCache,
  createRenderer,
  type EntriesResult,
  type EntriesSuccess,
  type ParseCache,
  type RenderEntry,
  type Renderer,
  type RenderOptions,
  readFleetConfig,
  readFleetInventory,
  renderCluster,
} from './render.js';
