/** The reconcile loop's public face: the scheduler, the real pipeline and the parts' interfaces. */
export { type EngineOptions, enginePipeline } from './pipeline.js';
export { ReconcileLoop, UnknownSourceError } from './scheduler.js';
export type {
  LoopOptions,
  LoopSource,
  Pipeline,
  PipelineInput,
  PreviewHook,
  ReconcileReason,
  SourceAccess,
  SourceSections,
} from './types.js';
