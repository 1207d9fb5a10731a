/**
 * The staged rollout a pull request would start, for its preview: the head's waves with their
 * policy and the clusters in each, and, when the PR changes the rollout rules, what changed and
 * which clusters move to another wave. The rules are part of the commit, so their change is
 * reviewed here like any object's. PURE.
 */
import { formatDuration } from '../../../contract/duration.js';
import { cell, code } from '../../../contract/markdown.js';
import {
  type RolloutRules,
  type WavePolicy,
  waveAt,
  waveCount,
  waveOf,
} from '../../../contract/rollout-rules.js';
import type { ClusterIdentity } from '../model/object.js';

/** One wave of the head's rules as a preview shows it: its policy in words and its clusters. */
export interface PreviewWave {
  name: string;
  selector: string | null;
  soak: string;
  progressDeadline: string;
  failureBudget: string;
  maxConcurrent: number | null;
  approval: boolean;
  offline: string;
  /** Clusters of the previewed fleet in this wave, sorted. */
  clusters: string[];
}

/** The rollout block of a preview. */
export interface RolloutPreview {
  /** The head's waves; empty when the head has no rollout rules (every cluster applies at once). */
  waves: PreviewWave[];
  /** The rules differ between base and head. */
  changed: boolean;
  /** Clusters whose wave differs between base and head (`none`: no waves on that side). */
  moves: { cluster: string; from: string; to: string }[];
}

function budgetText(p: WavePolicy): string {
  return 'count' in p.failureBudget ? String(p.failureBudget.count) : `${p.failureBudget.percent}%`;
}

function wavesOf(rules: RolloutRules, clusters: readonly ClusterIdentity[]): PreviewWave[] {
  const out: PreviewWave[] = [];
  for (let i = 0; i < waveCount(rules); i++) {
    const wave = waveAt(rules, i);
    const members = clusters.filter((c) => waveOf(rules, c.labels) === i).map((c) => c.name);
    if (i >= rules.waves.length && members.length === 0) continue;
    const p = wave.policy;
    out.push({
      name: wave.name,
      selector: wave.selector,
      soak: formatDuration(p.soakMs),
      progressDeadline: formatDuration(p.progressDeadlineMs),
      failureBudget: budgetText(p),
      maxConcurrent: p.maxConcurrent,
      approval: p.approval,
      offline: `${p.offline} after ${formatDuration(p.offlineGraceMs)}`,
      clusters: members.sort(),
    });
  }
  return out;
}

const waveName = (rules: RolloutRules | undefined, c: ClusterIdentity) =>
  rules ? `${waveOf(rules, c.labels)} (${waveAt(rules, waveOf(rules, c.labels)).name})` : 'none';

/** Null when neither side declares waves. */
export function previewRollout(
  base: RolloutRules | undefined,
  head: RolloutRules | undefined,
  clusters: readonly ClusterIdentity[],
): RolloutPreview | null {
  if (!base && !head) return null;
  const changed = JSON.stringify(base ?? null) !== JSON.stringify(head ?? null);
  const moves = clusters
    .map((c) => ({ cluster: c.name, from: waveName(base, c), to: waveName(head, c) }))
    .filter((m) => m.from !== m.to)
    .sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  return { waves: head ? wavesOf(head, clusters) : [], changed, moves };
}

const MAX_NAMES = 20;

function names(list: string[]): string {
  if (list.length === 0) return '–';
  const shown = list.slice(0, MAX_NAMES).map(cell).join(', ');
  return list.length > MAX_NAMES ? `${shown} and ${list.length - MAX_NAMES} more` : shown;
}

/** The preview's rollout block, Markdown lines ending with a blank line. */
export function rolloutLines(r: RolloutPreview): string[] {
  const lines: string[] = [];
  if (r.waves.length === 0) {
    lines.push(
      '**Rollout: this PR removes the waves** — every cluster applies the merge as soon as it fetches it.',
      '',
    );
  } else {
    lines.push(
      `**Rollout in ${r.waves.length} waves**${r.changed ? ' — **the rollout rules change in this PR**' : ''}:`,
      '',
      '| Wave | Selector | Clusters | Soak | Deadline | Budget | Max concurrent | Approval | Offline |',
      '|---|---|---|---|---|--:|--:|---|---|',
    );
    for (const [i, w] of r.waves.entries()) {
      lines.push(
        `| ${i} ${cell(w.name)} | ${w.selector === null ? 'the rest' : code(w.selector)} | ${names(w.clusters)} | ${w.soak} | ${w.progressDeadline} | ${w.failureBudget} | ${w.maxConcurrent ?? '–'} | ${w.approval ? 'manual' : 'none'} | ${w.offline} |`,
      );
    }
    lines.push('');
  }
  if (r.moves.length > 0) {
    const shown = r.moves.slice(0, MAX_NAMES);
    lines.push(
      `Clusters that change wave: ${shown.map((m) => `${cell(m.cluster)} ${cell(m.from)} → ${cell(m.to)}`).join('; ')}${r.moves.length > MAX_NAMES ? `; ${r.moves.length - MAX_NAMES} more` : ''}.`,
      '',
    );
  }
  return lines;
}
