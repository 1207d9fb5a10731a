/**
 * The agent's side of a staged rollout: for the commit a source fetched, read its rollout rules,
 * find this cluster's wave, and decide which commit to enforce. Wave 0 applies at once unless the
 * hub answers that the rollout is stopped (paused, aborted, halted); it never waits for a hub it
 * cannot reach. A later wave applies the commit only once the hub said it is released to this
 * cluster; until then the agent keeps enforcing the last commit released to it (drift correction
 * included). The release is kept in the state directory, so a restart, or a hub that went away
 * after saying yes, changes nothing; for a later wave, a hub that cannot be reached never releases
 * anything.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { REPORT_CONTENT } from '../../../contract/limits.js';
import type { SourceStatus } from '../../../contract/report.js';
import {
  MAX_ANNOUNCED_INVENTORY,
  type ReleaseAnswer,
  type RolloutAnnouncement,
} from '../../../contract/rollout.js';
import { type InventoryCluster, waveAt, waveOf } from '../../../contract/rollout-rules.js';
import type { HubConfig, SourceConfig } from '../config/schema.js';
import type { ClusterIdentity } from '../model/object.js';
import { writeDurable } from '../persist/durable.js';
import { readFleetConfig, readFleetInventory } from '../render/index.js';
import { post } from '../report/hub-client.js';
import { subTree } from '../source/subtree.js';
import type { FileTree } from '../source/tree.js';

/** A source's rollout section in the report. */
export type RolloutStatus = NonNullable<SourceStatus['rollout']>;

/** Which commit a source enforces now, and what to report about its rollout (null: no waves). */
export interface RolloutChoice {
  /** null: nothing was ever released to this cluster, so nothing is applied yet. */
  commit: string | null;
  status: RolloutStatus | null;
}

/** Asks the hub whether this cluster may apply a fetched commit now, and says why not. */
export interface RolloutGatekeeper {
  choose(input: {
    source: SourceConfig;
    displayUrl: string;
    head: string;
    tree: FileTree;
    log: Logger;
  }): Promise<RolloutChoice>;
}

/** Asks the hub whether `commit` is released to this cluster; throws when the hub cannot answer. */
export type AskHub = (announcement: RolloutAnnouncement) => Promise<ReleaseAnswer>;

/** The hub client, clock and cluster the gatekeeper works with. */
export interface GatekeeperOptions {
  identity: ClusterIdentity;
  stateDir: string;
  /** Undefined without a hub: later waves then never advance on their own. */
  ask?: AskHub;
}

interface Released {
  commit: string;
  at: string;
}

/** A gatekeeper that enforces only what the hub released; without a hub every commit may apply. */
export function rolloutGatekeeper(opts: GatekeeperOptions): RolloutGatekeeper {
  const dir = path.join(opts.stateDir, 'rollout');
  const fileOf = (source: string) => path.join(dir, `${encodeURIComponent(source)}.json`);
  const readReleased = async (source: string): Promise<Released | null> => {
    try {
      const parsed = JSON.parse(await readFile(fileOf(source), 'utf8')) as Partial<Released>;
      return typeof parsed.commit === 'string' ? { commit: parsed.commit, at: String(parsed.at) } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  const remember = async (source: string, commit: string) => {
    await mkdir(dir, { recursive: true });
    await writeDurable(fileOf(source), JSON.stringify({ commit, at: new Date().toISOString() }));
  };

  return {
    async choose({ source, displayUrl, head, tree, log }) {
      const root = subTree(tree, source.path);
      const fleet = await readFleetConfig(root);
      const rules = fleet.config?.rollout;
      const previous = await readReleased(source.name);
      // No waves, or a strata.yaml that does not parse (the render reports it): the old behaviour.
      if (!rules) {
        if (fleet.config && previous?.commit !== head) await remember(source.name, head);
        return { commit: head, status: null };
      }
      const wave = waveOf(rules, opts.identity.labels);
      const waveName = waveAt(rules, wave).name;
      const announcement: RolloutAnnouncement = {
        commit: head,
        source: {
          url: displayUrl,
          ref: source.kind === 'folder' ? '' : source.ref,
          ...(source.path ? { path: source.path } : {}),
        },
        labels: opts.identity.labels,
        rules: { ...rules, ...(await announcedInventory(root, log)) } as RolloutAnnouncement['rules'],
      };
      const released = (): RolloutChoice => ({
        commit: head,
        status: { commit: head, wave, waveName, released: true, enforcing: head, waiting: null },
      });
      if (previous?.commit === head) {
        void announceQuietly(opts, announcement, log);
        return released();
      }
      // Wave 0 never waits for a hub it cannot reach: the canary must not depend on the link.
      const releaseWave0 = async (without: string): Promise<RolloutChoice> => {
        log.info({ commit: head, why: without }, 'Rollout: wave 0 applies without an answer from the hub.');
        await remember(source.name, head);
        return released();
      };
      let why: string;
      if (!opts.ask) {
        why = 'no hub configured';
        if (wave === 0) return releaseWave0(why);
      } else {
        try {
          const answer = await opts.ask(announcement);
          // Wave 0 asks too, so that a paused, aborted or halted rollout holds its agents that
          // have not applied yet; it only waits for a hub that answers.
          if (answer.released) {
            await remember(source.name, head);
            log.info(
              { commit: head, wave, waveName },
              'Rollout: the hub released this commit to the cluster.',
            );
            return released();
          }
          why = answer.reason || `rollout ${answer.state}`;
        } catch (err) {
          why = `hub unreachable (${(err as Error).message})`;
          if (wave === 0) return releaseWave0(why);
        }
      }
      const waiting = `waiting for wave ${wave} (${waveName}) gate: ${why}`.slice(
        0,
        REPORT_CONTENT.maxMessageChars,
      );
      log.info({ commit: head, enforcing: previous?.commit ?? null }, waiting);
      return {
        commit: previous?.commit ?? null,
        status: {
          commit: head,
          wave,
          waveName,
          released: false,
          enforcing: previous?.commit ?? null,
          waiting,
        },
      };
    },
  };
}

/**
 * The commit's fleet inventory for the hub, so it knows a wave's clusters before they report. A
 * broken clusters.yaml is the render's error to report; here it only means the hub learns less.
 */
async function announcedInventory(tree: FileTree, log: Logger): Promise<{ inventory?: InventoryCluster[] }> {
  const { inventory } = await readFleetInventory(tree);
  if (!inventory) return {};
  if (inventory.clusters.length > MAX_ANNOUNCED_INVENTORY) {
    log.warn(
      { clusters: inventory.clusters.length, max: MAX_ANNOUNCED_INVENTORY },
      'Rollout: the fleet inventory is too large to announce; the hub knows the clusters that report.',
    );
    return {};
  }
  return { inventory: inventory.clusters.map((c) => ({ name: c.name, labels: { ...c.labels } })) };
}

/** A commit already released: the announcement only keeps the hub's view of the rollout fresh. */
async function announceQuietly(opts: GatekeeperOptions, a: RolloutAnnouncement, log: Logger): Promise<void> {
  if (!opts.ask) return;
  try {
    await opts.ask(a);
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'Rollout announcement failed; the hub learns of it later.');
  }
}

/** The hub's `POST /api/v1/rollouts/announce`, with the cluster's token. */
export function hubAsker(hub: HubConfig): AskHub {
  const endpoint = new URL('api/v1/rollouts/announce', hub.url.endsWith('/') ? hub.url : `${hub.url}/`);
  const ca = hub.caFile ? readFileSync(hub.caFile) : undefined;
  return async (announcement) => {
    const token = hub.tokenFile ? (await readFile(hub.tokenFile, 'utf8')).trim() : undefined;
    const body = Buffer.from(JSON.stringify(announcement));
    const { status, text } = await post(endpoint, body, token, ca, hub.timeout);
    if (status !== 200) throw new Error(`hub answered HTTP ${status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as ReleaseAnswer;
  };
}
