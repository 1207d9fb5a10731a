// The pure parts of `npm run demo` (the README's first command): its flags, the agent config it
// writes (checked by the agent's own schema), the lab's progress lines, the "all Synced" rule, and
// the commands it prints. The whole demo runs for real in test/e2e/demo.test.ts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfig } from '../../../agent/src/config/schema.js';
import { agentConfig } from '../../../examples/demo/agents.js';
import { clusterIdentities, FLEET_FOLDER } from '../../../examples/demo/fleet.js';
import { allSynced, type ClusterLine, describeCluster } from '../../../examples/demo/fleet-watch.js';
import { demoGuide, formatGuide, PR_REF } from '../../../examples/demo/guide.js';
import { DEMO_CLUSTERS, parseDemoArgs } from '../../../examples/demo/options.js';
import { labLine } from '../../../examples/demo/progress.js';

describe('demo flags', () => {
  it('defaults to .lab/demo, hub on 8080, Git on 8081, 5 s reconciles, running until Ctrl-C', () => {
    expect(parseDemoArgs([])).toEqual({
      kind: 'run',
      options: {
        dir: '.lab/demo',
        port: 8080,
        gitPort: 8081,
        interval: '5s',
        exitWhenSynced: false,
        timeoutSeconds: 900,
      },
    });
  });

  it('accepts --once as --exit-when-synced, and port 0 for any free port', () => {
    const parsed = parseDemoArgs(['--once', '--port', '0', '--git-port', '0', '--timeout', '60']);
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { exitWhenSynced: true, port: 0, gitPort: 0, timeoutSeconds: 60 },
    });
  });

  it('parses the Git controls of a running demo', () => {
    expect(parseDemoArgs(['git', 'stop', '--dir', 'x'])).toEqual({ kind: 'git', action: 'stop', dir: 'x' });
    expect(parseDemoArgs(['git', 'start'])).toEqual({ kind: 'git', action: 'start', dir: '.lab/demo' });
  });

  it.each([
    [['--port', '70000'], '--port must be a whole number from 0 to 65535, got "70000"'],
    [['--port', 'abc'], '--port must be a whole number'],
    [['--interval', '5 minutes'], '--interval must look like 5s or 500ms'],
    [['--timeout', '0'], '--timeout must be a whole number from 1'],
    [['git', 'restart'], '"git" takes "stop" or "start", got "restart"'],
    [['deploy'], 'unknown command "deploy"'],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });

  it('refuses unknown flags', () => {
    expect(() => parseDemoArgs(['--ports', '1'])).toThrow(/--ports/);
  });
});

describe('demo clusters and agent configs', () => {
  const clusters = clusterIdentities(path.join(FLEET_FOLDER, 'clusters.yaml'), DEMO_CLUSTERS);

  it('takes prod-hz, prod-sh and edge-1 with their labels from examples/fleet/clusters.yaml', () => {
    expect(clusters).toEqual([
      { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } },
      { name: 'prod-sh', labels: { region: 'cn-shanghai', env: 'prod' } },
      { name: 'edge-1', labels: { region: 'cn-hangzhou', env: 'prod', tier: 'edge' } },
    ]);
  });

  it('names the missing cluster when the clusters file lacks one', () => {
    expect(() => clusterIdentities(path.join(FLEET_FOLDER, 'clusters.yaml'), ['prod-hz', 'mars-1'])).toThrow(
      /clusters\.yaml: no cluster named "mars-1"/,
    );
  });

  it('writes agent configs the agent schema accepts, with a PR preview pattern and the hub token file', () => {
    for (const cluster of clusters) {
      const config = agentConfig({
        cluster,
        gitUrl: 'http://127.0.0.1:8081/fleet.git',
        hubUrl: 'http://127.0.0.1:8080',
        hubTokenFile: `/demo/agents/${cluster.name}/hub-token`,
        kubeconfig: `/demo/${cluster.name}/kubeconfig`,
        home: `/demo/agents/${cluster.name}`,
        interval: '5s',
        tools: { kustomize: '/demo/bin/kustomize', helm: '/demo/bin/helm' },
      });
      const parsed = AgentConfig.safeParse(config);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data).toMatchObject({
        cluster,
        sources: [
          {
            url: 'http://127.0.0.1:8081/fleet.git',
            ref: 'main',
            interval: 5000,
            previewRefs: 'refs/pull/*/head',
          },
        ],
        hub: { url: 'http://127.0.0.1:8080', tokenFile: `/demo/agents/${cluster.name}/hub-token` },
        kube: { kubeconfig: `/demo/${cluster.name}/kubeconfig` },
        render: { kustomize: '/demo/bin/kustomize', helm: '/demo/bin/helm' },
        stateDir: `/demo/agents/${cluster.name}/state`,
        listen: '127.0.0.1:0',
      });
    }
  });
});

describe('demo progress and fleet state', () => {
  it('turns lab events into short lines and ignores the rest', () => {
    expect(labLine('{"cluster":"prod-hz","component":"etcd","msg":"started"}')).toBe('prod-hz: etcd started');
    expect(
      labLine('{"cluster":"edge-1","msg":"cluster ready","server":"https://127.0.0.1:1","seconds":12.34}'),
    ).toBe('edge-1: ready at https://127.0.0.1:1 (12.3s)');
    expect(labLine('{"msg":"checking the control-plane binary"}')).toBeUndefined();
    expect(labLine('not json')).toBeUndefined();
  });

  const line = (
    name: string,
    phase: string,
    commit: string | null,
    sourceUnavailable = false,
  ): ClusterLine => ({
    name,
    phase,
    commit,
    sourceUnavailable,
  });

  it('counts the fleet Synced only when every demo cluster is Synced on the expected commit', () => {
    const names = ['a', 'b'];
    expect(allSynced([line('a', 'Synced', 'c1'), line('b', 'Synced', 'c1')], names, 'c1')).toBe(true);
    expect(allSynced([line('a', 'Synced', 'c1'), line('b', 'Synced', 'c0')], names, 'c1')).toBe(false);
    expect(allSynced([line('a', 'Synced', 'c1'), line('b', 'Progressing', 'c1')], names, 'c1')).toBe(false);
    expect(allSynced([line('a', 'Synced', 'c1')], names, 'c1')).toBe(false);
  });

  it('describes a cluster that lost Git as keeping its last commit', () => {
    expect(describeCluster(line('edge-1', 'Synced', 'abcdef0123', true))).toBe(
      'edge-1: Synced at abcdef0 (Git unreachable: keeps its last commit)',
    );
    expect(describeCluster(line('prod-hz', 'Unknown', null))).toBe('prod-hz: Unknown at no commit yet');
  });
});

describe('the commands the demo prints', () => {
  const ctx = { hubUrl: 'http://127.0.0.1:9000', gitUrl: 'http://127.0.0.1:9001/fleet.git', dir: '/tmp/d' };

  it('push, open a PR, stop and start Git, all from the repository root with the given ports and folder', () => {
    const steps = demoGuide(ctx);
    expect(steps.map((s) => s.commands.length)).toEqual([3, 4, 1, 1, 4, 1]);
    const all = steps.flatMap((s) => s.commands).join('\n');
    expect(all).toContain(
      'git clone -q -c user.name=demo -c user.email=demo@example.invalid http://127.0.0.1:9001/fleet.git /tmp/d/fleet',
    );
    expect(all).toContain(`push -q origin HEAD:${PR_REF}`);
    expect(all).toContain(`--head ${PR_REF} --hub http://127.0.0.1:9000`);
    expect(steps[2]!.commands).toEqual(['npm run demo -- git stop --dir /tmp/d']);
    expect(steps[3]!.commands).toEqual(['npm run demo -- git start --dir /tmp/d']);
    expect(steps[5]!.commands).toEqual([
      'npm run -s strata -- rollout status $(git -C /tmp/d/fleet rev-parse HEAD) --hub http://127.0.0.1:9000',
    ]);
  });

  it('prints the dashboard, the PR preview page and every command', () => {
    const text = formatGuide(ctx, '/tmp/d');
    expect(text).toContain('Dashboard: http://127.0.0.1:9000/');
    expect(text).toContain('http://127.0.0.1:9000/previews/refs%2Fpull%2F7%2Fhead');
    for (const command of demoGuide(ctx).flatMap((s) => s.commands))
      expect(text).toContain(`     ${command}\n`);
  });
});
