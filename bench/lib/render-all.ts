/**
 * One process rendering many clusters the way a PR preview does (each layer parsed once, objects
 * kept in memory), writing as YAML only the clusters named in CHECK (for the same-objects check).
 * Prints `{"renderMs":…,"serializeMs":…}` on stdout.
 *
 *   tsx bench/lib/render-all.ts REPO CLUSTERS_YAML OUT_DIR [CHECK=name,name]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ClusterIdentity } from '../../agent/src/model/object.js';
import { createRenderer, formatRenderError, toYamlStream } from '../../agent/src/render/index.js';
import { FolderTree } from '../../agent/src/source/folder.js';

const [repo, clustersFile, out, check = ''] = process.argv.slice(2);
const written = new Set(check.split(',').filter(Boolean));
if (!repo || !clustersFile || !out) throw new Error('usage: render-all.ts REPO CLUSTERS_YAML OUT_DIR');
const { clusters } = parse(readFileSync(clustersFile, 'utf8')) as { clusters: ClusterIdentity[] };
mkdirSync(out, { recursive: true });
const renderer = createRenderer(new FolderTree(repo));
let renderMs = 0;
let serializeMs = 0;
for (const cluster of clusters) {
  const t0 = performance.now();
  const result = await renderer.render(cluster);
  const t1 = performance.now();
  if (!result.ok) throw new Error(result.errors.map(formatRenderError).join('\n'));
  if (written.has(cluster.name))
    writeFileSync(join(out, `${cluster.name}.yaml`), toYamlStream(result.objects));
  renderMs += t1 - t0;
  serializeMs += performance.now() - t1;
}
process.stdout.write(`${JSON.stringify({ renderMs, serializeMs })}\n`);
