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
import { readEvidence } from '../sync/evidence.js';
import { reportSections, resolvePolicy, type SyncPolicy, syncCluster } from '../sync/index.js';
import { renderReportErrors } from '../sync/report-errors.js';
import { failureSections } from './failure.js';
import type { Pipeline } from './types.js';
import {
  maySkip,
  mustFullVerify,
  type QuietSync,
  renderInputs,
  repeatSections,
  unchangedSince,
} from './unchanged.js';

/**
 * What the real pipeline needs from outside: the cluster client, policy, state folder and tools.
 */
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
  const { fullVerifyEvery } = resolvePolicy(engine.policy);
  /** Per source, the last sync that found everything in sync (in memory: a restart plans in full). */
  const quiet = new Map<string, QuietSync>();
  return {
    async reconcile({ source, commit, tree, log, previous, now }) {
      const clock = now ?? (() => new Date());
      const startedAt = clock();
      const applySet = { name: applySetName(source.name), namespace: engine.namespace };
      const capabilities = engine.capabilities ? await engine.capabilities() : undefined;
      const inputs = renderInputs(source, commit, engine.identity, capabilities);
      const last = quiet.get(source.name);
      quiet.delete(source.name);
      if (last && maySkip(last, inputs, fullVerifyEvery)) {
        const requests = engine.client.requestCount;
        // A read that fails proves nothing: the full reconcile below meets the same error and reports it.
        const evidence = await readEvidence(engine.client, applySet).catch(() => undefined);
        if (evidence && unchangedSince(last, evidence)) {
          quiet.set(source.name, { ...last, skipped: last.skipped + 1 });
          log.info(
            { requests: engine.client.requestCount - requests, objects: evidence.members.size },
            'Commit and live objects unchanged since the last sync; render and plan skipped.',
          );
          return repeatSections(last, startedAt, clock());
        }
      }
      const sops = await sopsModeFor(source.decryption);
      const rendered = await renderCluster(subTree(tree, source.path), engine.identity, {
        ...(sops ? { sops } : {}),
        // Layer namespaces skip the kinds this cluster serves outside namespaces.
        scopeOf: async (apiVersion, kind) => {
          const info = await engine.client.resourceFor(apiVersion, kind);
          return info ? (info.namespaced ? 'Namespaced' : 'Cluster') : undefined;
        },
        ...(engine.renderTools ? { tools: engine.renderTools } : {}),
        ...(capabilities ? { capabilities } : {}),
      });
      if (!rendered.ok) {
        const first = rendered.errors[0];
        log.warn(
          { errors: rendered.errors.length, first: first && formatRenderError(first) },
          'Render failed.',
        );
        // A commit that fails to render is not applied at all, and nothing is pruned.
        return failureSections(commit, renderReportErrors(rendered.errors), previous, clock());
      }
      const result = await syncCluster({
        client: engine.client,
        objects: rendered.objects.map((o) => protectFromPrune(o.object, engine.pruneAllow ?? ['*'])),
        applySet,
        // The reconcile that ends a run of skips is the periodic full verify the skips stood in for.
        policy: mustFullVerify(last, inputs, fullVerifyEvery)
          ? { ...engine.policy, fullVerifyEvery: 1 }
          : engine.policy,
        stateDir: engine.stateDir,
        log,
      });
      const sections = reportSections(result, commit);
      if (
        result.evidence &&
        result.phase === 'Synced' &&
        result.errors.length === 0 &&
        result.drift.length === 0
      )
        quiet.set(source.name, { inputs, evidence: result.evidence, sections, skipped: 0 });
      return sections;
    },
  };
}
