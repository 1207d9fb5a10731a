/** The real pipeline behind the loop: render, then the sync engine (plan → apply → prune → health). */

import { applySetName } from '../inventory/applyset.js';
import { sopsModeFor } from '../keys/decryption-key.js';
import type { KubeClient } from '../kube/types.js';
import type { ClusterIdentity } from '../model/object.js';
import { protectFromPrune } from '../prune/select.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import { formatRenderError, renderCluster } from '../render/index.js';
import type { RenderTools } from '../render/tools.js';
import { subTree } from '../source/subtree.js';
import { reportSections, type SyncPolicy, syncCluster } from '../sync/index.js';
import { failureSections, renderErrorsOf } from './failure.js';
import type { Pipeline } from './types.js';

export interface EngineOptions {
  client: KubeClient;
  identity: ClusterIdentity;
  /** Namespace of the ApplySet parents (one Secret `strata-<source>` per source). */
  namespace: string;
  policy: Partial<SyncPolicy>;
  /** Kinds that may be pruned (`*`, `group/*`, `group/Kind`); others are applied with `strata.dev/prune: "false"`. */
  pruneAllow?: string[];
  /** Folder for the sync engine's no-op cache. */
  stateDir: string;
  /** kustomize and helm for layers that use them, behind their cache. */
  renderTools?: RenderTools;
  /** The cluster's Kubernetes and API versions, for `helm template`. */
  capabilities?: () => Promise<ClusterCapabilities>;
}

/** The real pipeline: render (agent/src/render) then plan → apply → prune → health (agent/src/sync). */
export function enginePipeline(engine: EngineOptions): Pipeline {
  return {
    async reconcile({ source, commit, tree, log, previous, now }) {
      const sops = await sopsModeFor(source.decryption);
      const rendered = await renderCluster(subTree(tree, source.path), engine.identity, {
        ...(sops ? { sops } : {}),
        // Layer namespaces skip the kinds this cluster serves outside namespaces.
        scopeOf: async (apiVersion, kind) => {
          const info = await engine.client.resourceFor(apiVersion, kind);
          return info ? (info.namespaced ? 'Namespaced' : 'Cluster') : undefined;
        },
        ...(engine.renderTools ? { tools: engine.renderTools } : {}),
        ...(engine.capabilities ? { capabilities: await engine.capabilities() } : {}),
      });
      if (!rendered.ok) {
        const first = rendered.errors[0];
        log.warn(
          { errors: rendered.errors.length, first: first && formatRenderError(first) },
          'Render failed.',
        );
        // A commit that fails to render is not applied at all, and nothing is pruned.
        const finishedAt = (now ?? (() => new Date()))();
        return failureSections(commit, renderErrorsOf(rendered.errors), previous, finishedAt);
      }
      const result = await syncCluster({
        client: engine.client,
        objects: rendered.objects.map((o) => protectFromPrune(o.object, engine.pruneAllow ?? ['*'])),
        applySet: { name: applySetName(source.name), namespace: engine.namespace },
        policy: engine.policy,
        stateDir: engine.stateDir,
        log,
      });
      return reportSections(result, commit);
    },
  };
}
