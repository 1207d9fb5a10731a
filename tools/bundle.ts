/**
 * `npm run build` step 2: the shipped program as a few bundled, tree-shaken, minified ESM files in
 * dist/bundle/ (the agent's resident memory: it runs for months on small edge nodes). One module graph instead of hundreds of files
 * drops per-module overhead, the code nothing calls (zod's locales, most of every dependency) and
 * most of the source text V8 keeps. Outputs:
 *   strata.js        the CLI (the image's ENTRYPOINT and the npm bin);
 *   sqlite-writer.js the hub's database writer thread, beside it as hub/src/store/sqlite.ts expects;
 *   chunk-*.js       each verb's code, loaded only when that verb runs;
 *   oneshot.cjs      the one-shot verbs (render, plan, apply) once more, as one CommonJS script,
 *                    with oneshot.cjs.cache, V8's code cache recorded from a real render of a
 *                    small fleet: `strata render|plan|apply` runs from it, so a short run does
 *                    not spend a quarter of its time compiling (agent/src/commands/shared/code-cache.ts).
 * better-sqlite3 stays in node_modules: a native addon. The tsc output in dist/agent, dist/hub stays
 * too (tests import it).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { CODE_CACHE_WRITE_ENV } from '../agent/src/commands/shared/code-cache.js';

const outdir = 'dist/bundle';

/** What the training render reads: the usual kinds, a variable, a selector and every kind of patch. */
const trainingFleet: Record<string, string> = {
  'strata.yaml':
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: base\n  - path: envs/{labels.env}\n',
  'base/app.yaml': `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: web, namespace: shop }
data: { CLUSTER: "\${cluster.name}", MODE: "0644", ON: yes }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: { app: web }
  annotations: { strata.dev/cluster-selector: "env=prod" }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
          args: ["--port", "8080"]
          ports: [{ containerPort: 8080, name: http }, { containerPort: 53, protocol: UDP }]
          env: [{ name: A, value: "1" }]
          volumeMounts: [{ name: cfg, mountPath: /etc/web }]
      volumes: [{ name: cfg, configMap: { name: web, defaultMode: 0644 } }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: http }]
`,
  'envs/prod/patches.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: Deployment, name: web, namespace: shop }
merge:
  spec:
    replicas: 3
    template:
      spec:
        containers:
          - name: web
            env: [{ name: B, value: "2" }]
images:
  - name: registry.example.com/web
    newTag: "1.1"
jsonPatch:
  - { op: add, path: /metadata/labels/tier, value: front }
---
apiVersion: strata.dev/v1
kind: Patch
target: { labelSelector: "app=nothing" }
optional: true
delete: true
`,
};

// CommonJS dependencies inside an ES module bundle: give them require, __filename and __dirname.
const banner = [
  "import { createRequire as __strataRequire } from 'node:module';",
  "import { fileURLToPath as __strataPath } from 'node:url';",
  'const require = __strataRequire(import.meta.url);',
  'const __filename = __strataPath(import.meta.url);',
  "const __dirname = __strataPath(new URL('.', import.meta.url));",
].join('\n');

/**
 * zod 4's namespaces (z.locales, z.core.locales) hold every locale: 250 files, a third of zod's
 * bundled size. Strata's messages are English (zod's default), so only `en` is kept.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    const en = path.join(path.dirname(createRequire(import.meta.url).resolve('zod/v4/locales')), 'en.js');
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: 'locales', namespace: 'zod-en' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, () => ({
      contents: `export { default as en } from ${JSON.stringify(en)};`,
      loader: 'js',
      resolveDir: path.dirname(en),
    }));
  },
};

const result = await build({
  entryPoints: { strata: 'agent/src/cli.ts', 'sqlite-writer': 'hub/src/store/sqlite-writer.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Error class names reach logs (pino's err.type) and messages.
  keepNames: true,
  external: ['better-sqlite3'],
  banner: { js: banner },
  legalComments: 'none',
  plugins: [zodEnglishOnly],
  metafile: true,
  logLevel: 'warning',
});

// The one-shot verbs as a CommonJS script (vm.Script, hence a code cache, takes no ES module).
const quick = await build({
  entryPoints: { oneshot: 'agent/src/commands/shared/quick.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true,
  external: ['better-sqlite3'],
  define: { 'import.meta.url': '__strataUrl' },
  banner: { js: "const __strataUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  plugins: [zodEnglishOnly],
  metafile: true,
  logLevel: 'warning',
});
Object.assign(result.metafile.outputs, quick.metafile.outputs);

// One real render records the code cache (every function it compiled, not only the top level), of
// a small fleet written here: no kustomize or helm is needed, so the image's build stage can run it.
const trainingRepo = mkdtempSync(path.join(tmpdir(), 'strata-code-cache-'));
for (const [file, text] of Object.entries(trainingFleet)) {
  mkdirSync(path.dirname(path.join(trainingRepo, file)), { recursive: true });
  writeFileSync(path.join(trainingRepo, file), text);
}
const training = spawnSync(
  process.execPath,
  [
    path.join(outdir, 'strata.js'),
    'render',
    '--repo',
    trainingRepo,
    '--cluster',
    'edge-1',
    '--labels',
    'env=prod',
  ],
  { env: { ...process.env, [CODE_CACHE_WRITE_ENV]: '1' }, encoding: 'utf8' },
);
rmSync(trainingRepo, { recursive: true, force: true });
if (training.status !== 0) throw new Error(`code-cache training render failed: ${training.stderr}`);
const cacheBytes = statSync(path.join(outdir, 'oneshot.cjs.cache')).size;

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(
  `bundle: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}/, code cache ${(cacheBytes / 1024).toFixed(0)} KiB`,
);
