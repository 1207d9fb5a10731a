import type { KubeObject } from '../model/object.js';
import type { RenderError } from './errors.js';
import type { ChartReport } from './helm-render.js';

/** A document in the fleet repository. */
export interface DocumentRef {
  file: string;
  /** 0-based index of the document in its file. */
  doc: number;
  line: number;
  /** Set when a tool built the document: `kustomize from regions/eu/ingress`, `helm from …`. */
  builtBy?: string;
}

/** One operation of a Patch document, as applied to one object. */
export interface AppliedPatch extends DocumentRef {
  /** `merge`, `jsonPatch`, or `images`. */
  op: 'merge' | 'jsonPatch' | 'images';
}

/** Where a rendered object came from. */
export interface Provenance {
  /** The layer folder and document that defined the object. */
  layer: string;
  definedAt: DocumentRef;
  /** Definitions in earlier layers that this one replaced, oldest first. */
  replaced: (DocumentRef & { layer: string })[];
  /** Patches applied after the definition, in order. */
  patches: AppliedPatch[];
}

/** One rendered object with where it came from: the files that define and patch it. */
export interface RenderedObject {
  /** `objectId()` of the object. */
  id: string;
  object: KubeObject;
  provenance: Provenance;
}

/** An object that a cluster does not get, and why: its selector, or a `delete` patch. */
export interface DroppedObject {
  id: string;
  definedAt: DocumentRef;
  reason: string;
}

/** What one layer contributed to a render, for `strata render --explain`. */
export interface LayerReport {
  /** The template as declared, e.g. `regions/{labels.region}`. */
  template: string;
  /** The folder it named for this cluster, when it could be resolved. */
  dir?: string;
  used: boolean;
  /** Why an unused layer was skipped. */
  reason?: string;
}

/** A render that worked: the objects, the layers used and what was dropped. */
export interface RenderSuccess {
  ok: true;
  objects: RenderedObject[];
  /** Every declared layer in order: the folder it resolved to, and why it was skipped if it was. */
  layers: LayerReport[];
  dropped: DroppedObject[];
  /** Every HelmChart rendered: its chart, release and who set each value. Absent without charts. */
  charts?: ChartReport[];
  /**
   * Repository folders read besides the layer folders (kustomize bases and components, charts,
   * values files' folders): what a render's result depends on, for callers comparing inputs.
   */
  reads?: string[];
}

/** A render that failed: every error, each with its location. */
export interface RenderFailure {
  ok: false;
  errors: RenderError[];
}

/** A render's outcome: objects, or the errors that stop the commit. */
export type RenderResult = RenderSuccess | RenderFailure;
