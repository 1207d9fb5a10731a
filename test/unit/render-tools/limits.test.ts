import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRenderError, renderCluster } from '../../../agent/src/render/index.js';
import { jobKey, type ToolJob } from '../../../agent/src/render/tools.js';
import { createToolRunner, type ToolLimits } from '../../../agent/src/render-tools/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { toolPath } from '../../support/tools.js';
import { hz, type RepoFile, writeRepo } from '../render/helpers.js';

const binaries = { kustomize: toolPath('kustomize'), helm: toolPath('helm') };
const work = () => mkdtempSync(join(tmpdir(), 'strata-limits-'));
const encode = (files: Record<string, string>) =>
  new Map(Object.entries(files).map(([p, t]) => [p, new TextEncoder().encode(t)]));

function job(tool: ToolJob['tool'], files: Record<string, string>, args: string[]): ToolJob {
  const map = encode(files);
  return { tool, files: map, args, key: jobKey(tool, map, args) };
}

const chartRepo = (template: string): Record<string, RepoFile> => ({
  'strata.yaml': 'apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n',
  'charts/x/Chart.yaml': 'apiVersion: v2\nname: x\nversion: 0.1.0\n',
  'charts/x/templates/t.yaml': template,
  'global/x.yaml':
    'apiVersion: strata.dev/v1\nkind: HelmChart\nmetadata: { name: x, namespace: x }\nchart: { path: charts/x }\n',
});

async function renderChart(template: string, limits: Partial<ToolLimits>) {
  const runner = createToolRunner({ binaries, limits, workDir: work() });
  const result = await renderCluster(new FolderTree(writeRepo(chartRepo(template))), hz, {
    tools: { runner },
  });
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors.map(formatRenderError);
}

/** A YAML alias bomb: 10^9 strings once expanded, 1 KiB as text. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

describe('limits on kustomize and helm', () => {
  it('stops kustomize on an alias bomb at its memory limit, quickly', { timeout: 120_000 }, async () => {
    const runner = createToolRunner({ binaries, limits: { memoryBytes: 768 * 1024 ** 2 }, workDir: work() });
    const started = Date.now();
    const result = await runner.run(
      job('kustomize', { 'k/kustomization.yaml': 'resources: [bomb.yaml]\n', 'k/bomb.yaml': aliasBomb() }, [
        'build',
        'k',
      ]),
    );
    expect(result).toEqual({
      ok: false,
      reason: 'memory',
      message: 'ran out of its 768 MiB memory limit; stopped',
    });
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('kills a template that runs past the wall-time limit, with a located error', {
    timeout: 60_000,
  }, async () => {
    const started = Date.now();
    // Nested small loops: endless in time but flat in memory, so the wall-time limit is what stops it
    // (one huge range would reach the memory limit first on an idle machine).
    const errors = await renderChart(
      '{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n',
      {
        wallMs: 1500,
      },
    );
    expect(errors).toEqual([
      'global/x.yaml:1:1 (doc 0): strata.dev/HelmChart/x/x: helm: did not finish within 1.5 s; killed',
    ]);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('kills a chart whose output passes the output limit', { timeout: 120_000 }, async () => {
    const template = `{{ range $i := until 20000 }}
---
apiVersion: v1
kind: ConfigMap
metadata: { name: c{{ $i }} }
data: { pad: {{ repeat 200 "x" | quote }} }
{{ end }}`;
    const errors = await renderChart(template, { outputBytes: 1024 * 1024 });
    expect(errors).toEqual([
      'global/x.yaml:1:1 (doc 0): strata.dev/HelmChart/x/x: helm: wrote more than 1048576 bytes of output; killed',
    ]);
  });

  it('gives kustomize no network: a remote resource it is tricked into fetching never arrives', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: stolen }\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cm.yaml`;
      const runner = createToolRunner({ binaries, workDir: work() });
      // Straight to the runner: render refuses URLs before this, so only the sandbox is tested here.
      const result = await runner.run(
        job('kustomize', { 'k/kustomization.yaml': `resources: [${url}]\n` }, ['build', 'k']),
      );
      expect(result.ok).toBe(false);
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });

  it('starts no process for an input it has rendered, in memory or from its cache folder', async () => {
    const cacheDir = work();
    const files = {
      'k/kustomization.yaml': 'resources: [cm.yaml]\n',
      'k/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
    };
    const first = createToolRunner({ binaries, cacheDir, workDir: work() });
    const a = await first.run(job('kustomize', files, ['build', 'k']));
    const b = await first.run(job('kustomize', files, ['build', 'k']));
    expect(first.stats.processes).toBe(1);
    const restarted = createToolRunner({ binaries, cacheDir, workDir: work() });
    const c = await restarted.run(job('kustomize', files, ['build', 'k']));
    expect(restarted.stats.processes).toBe(0);
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    // A changed input runs again.
    await restarted.run(
      job(
        'kustomize',
        { ...files, 'k/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: d }\n' },
        ['build', 'k'],
      ),
    );
    expect(restarted.stats.processes).toBe(1);
  });
});
