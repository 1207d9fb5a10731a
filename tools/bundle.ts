/**
 * `npm run build` step 2: the shipped program as a few bundled, tree-shaken, minified ESM files in
 * dist/bundle/ (the agent's resident memory: it runs for months on small edge nodes). One module graph instead of hundreds of files
 * drops per-module overhead, the code nothing calls (zod's locales, most of every dependency) and
 * most of the source text V8 keeps. Outputs:
 *   strata.js        the CLI (the image's ENTRYPOINT and the npm bin);
 *   sqlite-writer.js the hub's database writer thread, beside it as hub/src/store/sqlite.ts expects;
 *   chunk-*.js       each verb's code, loaded only when that verb runs.
 * better-sqlite3 stays in node_modules: a native addon. The tsc output in dist/agent, dist/hub stays
 * too (tests import it).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const outdir = 'dist/bundle';

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

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(
  `bundle: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}/`,
);
