/**
 * The "try this" text the demo prints once the fleet is up: copy-pasteable commands, run from the
 * repository root, that push a change, open a pull-request ref and preview it, and take Git away.
 * Pure, so the demo's end-to-end test runs exactly these commands.
 */

export interface GuideContext {
  hubUrl: string;
  gitUrl: string;
  /** The demo folder as the user gave it (relative to the repository root is fine). */
  dir: string;
}

export interface GuideStep {
  title: string;
  /** Shell commands, run from the repository root, one per line. */
  commands: string[];
  /** What to look at afterwards. */
  look: string[];
}

export const PR_REF = 'refs/pull/7/head';

/**
 * `PATH=…/bin:$PATH`: the demo's links to kustomize and helm, which a render or preview of the
 * fleet needs for its overlay and chart. Absolute, since Strata ignores relative PATH entries.
 */
export function toolsOnPath(dir: string): string {
  return `PATH=${dir.startsWith('/') ? '' : '$PWD/'}${dir}/bin:$PATH`;
}

/** The rollout section step 5 appends to the demo fleet's strata.yaml (printf escapes). */
export const ROLLOUT_RULES =
  '\\nrollout:\\n  soak: 20s\\n  waves:\\n    - name: canary\\n      selector: tier=edge\\n    - name: rest\\n';

export function demoGuide({ hubUrl, gitUrl, dir }: GuideContext): GuideStep[] {
  const clone = `${dir}/fleet`;
  return [
    {
      title: 'Push a change: Shanghai goes from 3 to 4 replicas (prod-sh only)',
      commands: [
        `git clone -q -c user.name=demo -c user.email=demo@example.invalid ${gitUrl} ${clone}`,
        `sed -i 's/replicas: 3/replicas: 4/' ${clone}/regions/cn-shanghai/web.yaml`,
        `git -C ${clone} commit -qam 'Shanghai: 4 replicas' && git -C ${clone} push -q origin main`,
      ],
      look: [`${hubUrl}/  (prod-sh moves to the new commit within seconds; so do the others)`],
    },
    {
      title: 'Open a pull request and see what it would do to each cluster',
      commands: [
        `git -C ${clone} checkout -qb hangzhou-6`,
        `sed -i 's/replicas: 5/replicas: 6/' ${clone}/regions/cn-hangzhou/web.yaml`,
        `git -C ${clone} commit -qam 'Hangzhou: 6 replicas' && git -C ${clone} push -q origin HEAD:${PR_REF}`,
        `${toolsOnPath(dir)} npm run -s strata -- preview --repo ${gitUrl} --base main --head ${PR_REF} --hub ${hubUrl}`,
      ],
      look: [
        'the preview: prod-hz changes spec.replicas 5 → 6; edge-1 (also in cn-hangzhou) keeps its own 1',
        `${hubUrl}/previews/${encodeURIComponent(PR_REF)}  (each agent's live dry-run plan against its cluster)`,
      ],
    },
    {
      title: 'Take Git away: every agent keeps enforcing the commit it has',
      commands: [`npm run demo -- git stop --dir ${dir}`],
      look: [`${hubUrl}/clusters/edge-1  (source unreachable, still Synced on its last commit)`],
    },
    {
      title: 'Bring Git back: the agents fetch again and report it reachable',
      commands: [`npm run demo -- git start --dir ${dir}`],
      look: [`${hubUrl}/`],
    },
    {
      title: 'Stage the next commit in two waves: edge-1 first, the others once it was healthy for 20 s',
      commands: [
        `git -C ${clone} checkout -q main`,
        `printf '${ROLLOUT_RULES}' >> ${clone}/strata.yaml`,
        `sed -i 's/LOG_LEVEL: info/LOG_LEVEL: debug/' ${clone}/global/shop/config.yaml`,
        `git -C ${clone} commit -qam 'Two waves; debug logging' && git -C ${clone} push -q origin main`,
      ],
      look: [
        `${hubUrl}/  (edge-1 applies the commit at once; prod-hz and prod-sh keep their commit and say "waiting for wave 1 (rest) gate")`,
      ],
    },
    {
      title: 'Watch the rollout: waves, each cluster, soak time left, why a wave waits',
      commands: [`npm run -s strata -- rollout status $(git -C ${clone} rev-parse HEAD) --hub ${hubUrl}`],
      look: [
        `${hubUrl}/commits/<commit>  (the same on the dashboard; pause, resume, abort and approve need the hub's --admin-token-file)`,
      ],
    },
  ];
}

export function formatGuide(ctx: GuideContext, logDir: string): string {
  const lines = [
    '',
    `Dashboard: ${ctx.hubUrl}/`,
    `Fleet repo: ${ctx.gitUrl}  (a copy of examples/fleet)`,
    `Logs: ${logDir}/agents/<cluster>/agent.log, ${logDir}/hub.log`,
    '',
    'Try, from the repository root in another terminal:',
  ];
  demoGuide(ctx).forEach((step, i) => {
    lines.push('', `  ${i + 1}. ${step.title}`);
    for (const command of step.commands) lines.push(`     ${command}`);
    for (const look of step.look) lines.push(`     → ${look}`);
  });
  lines.push('', 'Ctrl-C stops everything the demo started.', '');
  return lines.join('\n');
}
