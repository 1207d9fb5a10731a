import * as fs from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FleetPreview,
  formatJson,
  formatMarkdown,
  groupChanges,
  openRefs,
  previewFleet,
  readClustersFile,
} from '../../../agent/src/preview/index.js';
import { openGitTree } from '../../../agent/src/source/git-tree.js';
import type { FileTree } from '../../../agent/src/source/tree.js';
import { CLUSTERS_FILE, type FixtureRepo, fixtureRepo, PR_REF } from './helpers.js';

const log = pino({ level: 'silent' });
let fixture: FixtureRepo;
let preview: FleetPreview;

async function previewOf(repo: string, base: string, head: string): Promise<FleetPreview> {
  const refs = await openRefs(repo, base, head, { log });
  try {
    return await previewFleet({
      base: refs.base,
      head: refs.head,
      clusters: await readClustersFile(CLUSTERS_FILE),
    });
  } finally {
    await refs.close();
  }
}

beforeAll(async () => {
  fixture = await fixtureRepo();
  preview = await previewOf(fixture.repo.dir, 'main', PR_REF);
});
afterAll(() => fixture?.cleanup());

const clusterOf = (name: string) => preview.clusters.find((c) => c.cluster.name === name)!;

describe('offline preview', () => {
  it('resolves both refs to their commits', () => {
    expect(preview.base).toEqual({ ref: 'main', commit: fixture.base });
    expect(preview.head).toEqual({ ref: PR_REF, commit: fixture.head });
  });

  it('shows the region layer change only on that region’s clusters', () => {
    for (const name of ['eu-1', 'eu-2']) {
      const web = clusterOf(name).objects.find((o) => o.id === 'apps/Deployment/shop/web');
      expect(web?.action).toBe('update');
      expect(web?.changes).toEqual([
        {
          path: '.spec.template.spec.containers[name=web].image',
          op: 'replace',
          before: 'registry.example.com/web:1.0',
          after: 'registry.example.com/web:1.1',
        },
      ]);
      expect(web?.files).toEqual(['global/app.yaml', 'regions/eu/web.yaml']);
    }
    for (const name of ['us-1', 'solo']) {
      expect(clusterOf(name).objects.map((o) => o.id)).not.toContain('apps/Deployment/shop/web');
      expect(clusterOf(name).objects.map((o) => o.id)).not.toContain('/ConfigMap/shop/web-config');
    }
  });

  it('lists created and deleted objects with the file that defines them', () => {
    const solo = clusterOf('solo');
    expect(solo.status).toBe('changed');
    expect(solo.objects.filter((o) => o.action !== 'update')).toEqual([
      { id: '/ConfigMap/shop/legacy', action: 'delete', changes: [], files: ['global/legacy.yaml'] },
      { id: '/Service/shop/cache', action: 'create', changes: [], files: ['global/cache.yaml'] },
    ]);
    expect(solo.counts).toEqual({ create: 1, update: 1, delete: 1 });
  });

  it('says which Secret key changed but never its value', async () => {
    const secret = clusterOf('us-1').objects.find((o) => o.id === '/Secret/shop/db');
    expect(secret?.changes).toEqual([{ path: '.stringData.password', op: 'replace', redacted: true }]);
    const outputs = [formatMarkdown(preview), formatJson(preview)];
    for (const text of outputs) {
      expect(text).toContain('.stringData.password');
      expect(text).not.toContain('s3cret');
    }
  });

  it('reports a head that fails to render for one cluster with the file and line, and nothing else for it', () => {
    const us2 = clusterOf('us-2');
    expect(us2.status).toBe('failed');
    expect(us2.objects).toEqual([]);
    expect(us2.errors).toHaveLength(1);
    expect(us2.errors[0]).toMatchObject({ file: 'clusters/us-2/broken.yaml', doc: 0, line: 4 });
    expect(preview.clusters.filter((c) => c.status === 'failed').map((c) => c.cluster.name)).toEqual([
      'us-2',
    ]);
  });

  it('groups clusters whose changes are identical', () => {
    const groups = groupChanges(preview.clusters).map((g) => [g.status, g.clusters]);
    expect(groups).toEqual([
      ['failed', ['us-2']],
      ['changed', ['eu-1', 'eu-2']],
      ['changed', ['solo', 'us-1']],
    ]);
  });

  it('writes the Markdown committed in testdata/preview.md', async () => {
    // Update with `npx vitest run -u test/unit/preview` after a deliberate format change, and review the diff.
    await expect(formatMarkdown(preview)).toMatchFileSnapshot('testdata/preview.md');
  });

  it('gives byte-identical output whatever the order of the clusters file', async () => {
    const clusters = await readClustersFile(CLUSTERS_FILE);
    const refs = await openRefs(fixture.repo.dir, 'main', PR_REF, { log });
    const again = await previewFleet({ base: refs.base, head: refs.head, clusters: [...clusters].reverse() });
    expect(formatMarkdown(again)).toBe(formatMarkdown(preview));
    expect(formatJson(again)).toBe(formatJson(preview));
  });

  it('reads every layer file once per ref for the whole fleet', async () => {
    const reads = new Map<string, number>();
    const counting = async (commit: string): Promise<FileTree> => {
      const tree = await openGitTree({ fs, gitdir: fixture.repo.dir, commit });
      return {
        description: tree.description,
        list: (dir) => tree.list(dir),
        readLink: (p) => tree.readLink(p),
        read: (p, max) => {
          reads.set(`${commit}:${p}`, (reads.get(`${commit}:${p}`) ?? 0) + 1);
          return tree.read(p, max);
        },
      };
    };
    const clusters = await readClustersFile(CLUSTERS_FILE);
    await previewFleet({
      base: { ref: 'main', tree: await counting(fixture.base) },
      head: { ref: PR_REF, tree: await counting(fixture.head) },
      clusters,
    });
    expect(reads.size).toBeGreaterThan(8);
    expect(Math.max(...reads.values())).toBe(1);
  });

  it('shows no changes when base and head are the same commit', async () => {
    const same = await previewOf(fixture.repo.dir, 'main', fixture.base);
    expect(same.clusters.every((c) => c.status === 'unchanged')).toBe(true);
    expect(formatMarkdown(same)).toContain('No cluster changes.');
  });
});

describe('Markdown size cap', () => {
  it('stays under the cap and says how much was left out', () => {
    const many: FleetPreview = {
      ...preview,
      clusters: Array.from({ length: 300 }, (_, i) => {
        const c = preview.clusters[i % preview.clusters.length]!;
        const name = `c-${String(i).padStart(3, '0')}`;
        // Give each cluster its own value so none can be grouped.
        const objects = c.objects.map((o) => ({
          ...o,
          changes: o.changes.map((ch) => ({
            ...ch,
            after: ch.redacted ? undefined : `${String(ch.after)}-${i}`,
          })),
        }));
        return { ...c, cluster: { name, labels: {} }, objects };
      }),
    };
    const text = formatMarkdown(many, { maxChars: 8000 });
    expect(text.length).toBeLessThanOrEqual(8000);
    expect(text).toMatch(/more (cluster|section)/);
    const full = formatMarkdown(many, { maxChars: 10_000_000 });
    expect(full).not.toMatch(/more (cluster|section)s? /);
    expect(full.length).toBeGreaterThan(8000);
  });

  it('cuts long values and long field lists with a clear count', () => {
    const big: FleetPreview = {
      ...preview,
      clusters: [
        {
          cluster: { name: 'one', labels: {} },
          status: 'changed',
          counts: { create: 0, update: 1, delete: 0 },
          errors: [],
          objects: [
            {
              id: '/ConfigMap/x/big',
              action: 'update',
              files: ['global/big.yaml'],
              changes: Array.from({ length: 40 }, (_, i) => ({
                path: `.data.k${i}`,
                op: 'replace' as const,
                before: 'a'.repeat(500),
                after: 'b',
              })),
            },
          ],
        },
      ],
    };
    const text = formatMarkdown(big, { maxFields: 30, maxValueChars: 100 });
    expect(text).toContain('10 more fields');
    expect(text).not.toContain('a'.repeat(101));
    expect(text).toContain(`${'a'.repeat(98)}…`);
  });
});

describe('hostile content', () => {
  it('keeps table cells and the HTML summary intact whatever a value contains', () => {
    const hostile: FleetPreview = {
      base: { ref: 'main' },
      head: { ref: 'x' },
      clusters: [
        {
          cluster: { name: 'one', labels: {} },
          status: 'changed',
          counts: { create: 0, update: 1, delete: 0 },
          errors: [],
          objects: [
            {
              id: '/ConfigMap/x/c',
              action: 'update',
              files: ['global/a|b</details>.yaml'],
              changes: [{ path: '.data.v', op: 'replace', before: '`|</details><script>', after: 'ok' }],
            },
          ],
        },
      ],
    };
    const text = formatMarkdown(hostile);
    const row = text.split('\n').find((l) => l.startsWith('| `.data.v`'))!;
    // Three cells: no raw pipe from the value splits the row.
    expect(row.split(/(?<!\\)\|/).length).toBe(5);
    // Outside code spans, the only HTML is our own: one section opened and closed, no script.
    const outsideCode = text.replace(/(`+)[\s\S]*?\1/g, '');
    expect(outsideCode.match(/<\/details>/g)).toHaveLength(1);
    expect(outsideCode).not.toContain('<script>');
  });
});
