import type { FileTree } from '../source/tree.js';
import { errorAt } from './classify.js';
import { type ParsedDocument, parseYamlFile } from './documents.js';
import { RenderError } from './errors.js';
import { type HelmChartSpec, readHelmChart } from './helm-chart.js';
import type { StackedChart, ValueSource } from './helm-stack.js';
import { toolError } from './kustomize.js';
import { type CopyBudget, copyFolder, literalDocuments } from './kustomize-inputs.js';
import { withDefaultNamespace } from './namespace.js';
import { jobKey, type RenderTools } from './tools.js';
import { setOwn } from './variables.js';

/** What `helm template` is told about the cluster: the agent's discovery, or a preview's flag. */
export interface ClusterCapabilities {
  /** e.g. `v1.35.0`; absent: helm's own default (the Kubernetes version it was built against). */
  kubeVersion?: string;
  /** Served group/versions (`apps/v1`), for `.Capabilities.APIVersions.Has`. */
  apiVersions?: readonly string[];
}

/** A chart's objects, ready to join its layer, and what a reader of `--explain` is told about it. */
export interface RenderedChart {
  /** The job's key, when helm ran (or its output came from the cache). */
  key?: string;
  docs: ParsedDocument[];
  /** Folders of the repository it read besides layers (the chart's, the values files'). */
  reads?: string[];
  errors: RenderError[];
  report?: ChartReport;
}

/** What one chart render used (chart, release name, where each value came from), for provenance. */
export interface ChartReport {
  id: string;
  /** `charts/web`, `https://charts.example.com web 1.2.0`, `oci://… 1.2.0`. */
  chart: string;
  releaseName: string;
  namespace: string;
  /** The final values and, for each, the document that set it (chart defaults are not listed). */
  values: ValueSource[];
}

const VALUES_FILE = 'strata-values.json';

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Helm's own rule for stacking values: maps merge key by key, anything else (lists too) replaces. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    setOwn(out, k, isMap(b) && isMap(v) ? mergeValues(b, v) : v);
  }
  return out;
}

/** A chart's source as one line for messages: its path, or repository, name and version. */
export function describeSource(spec: HelmChartSpec): string {
  const c = spec.chart;
  if (c.type === 'path') return c.path;
  if (c.type === 'repo') return `${c.url} ${c.name} ${c.version}`;
  return `${c.ref} ${c.version}`;
}

/** The arguments of `helm template` for one chart: no hooks, no tests, CRDs first unless refused. */
export function helmArgs(spec: HelmChartSpec, chartPath: string, caps: ClusterCapabilities): string[] {
  const args = [
    'template',
    spec.releaseName,
    chartPath,
    '--namespace',
    spec.namespace,
    '--values',
    VALUES_FILE,
  ];
  args.push('--no-hooks', '--skip-tests');
  if (spec.includeCRDs) args.push('--include-crds');
  if (caps.kubeVersion) args.push('--kube-version', caps.kubeVersion);
  for (const v of [...(caps.apiVersions ?? [])].sort()) args.push('--api-versions', v);
  return args;
}

async function chartFiles(
  tree: FileTree,
  chart: StackedChart,
  spec: HelmChartSpec,
  tools: RenderTools,
  maxFileBytes: number,
): Promise<{ files: Map<string, Uint8Array>; chartPath: string } | RenderError[]> {
  const files = new Map<string, Uint8Array>();
  const at = chart.definedBy;
  const source = spec.chart;
  if (source.type === 'path') {
    const errors: RenderError[] = [];
    const listed = await tree.list(source.path);
    if (!listed)
      return [
        errorAt(at, ['chart', 'path'], 'document', `helm: chart folder '${source.path}' does not exist`),
      ];
    const budget: CopyBudget = { bytes: 0, files: 0 };
    const prefix = `${source.path}/`;
    await copyFolder(tree, source.path, files, errors, budget, maxFileBytes, {
      as: (p) => `chart/${p.slice(prefix.length)}`,
      checkYaml: false,
      tool: 'helm',
    });
    if (!files.has('chart/Chart.yaml'))
      errors.push(errorAt(at, ['chart', 'path'], 'document', `helm: '${source.path}' holds no Chart.yaml`));
    return errors.length > 0 ? errors : { files, chartPath: 'chart' };
  }
  if (!tools.charts) {
    return [
      errorAt(
        at,
        ['chart'],
        'tool',
        'helm: this command cannot fetch charts (no chart store); use a chart in the repository',
      ),
    ];
  }
  const fetched = await tools.charts.fetch(source);
  if (!fetched.ok) {
    const code = fetched.reason === 'SourceUnavailable' ? 'source' : 'tool';
    return [
      errorAt(at, ['chart'], code, `helm: ${describeSource(spec)}: ${fetched.message}`, { object: chart.id }),
    ];
  }
  files.set('chart.tgz', fetched.archive.bytes);
  return { files, chartPath: 'chart.tgz' };
}

/** Values files, read and checked by Strata's own reader, merged in order; then the document's values. */
async function stackedValues(tree: FileTree, chart: StackedChart, spec: HelmChartSpec, maxFileBytes: number) {
  const errors: RenderError[] = [];
  let values: Record<string, unknown> = {};
  const fromFiles: ValueSource[] = [];
  for (const [i, path] of spec.valuesFiles.entries()) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await tree.read(path, maxFileBytes));
    } catch (e) {
      errors.push(
        errorAt(
          chart.definedBy,
          ['valuesFiles', i],
          'file',
          `helm: values file '${path}': ${(e as Error).message}`,
        ),
      );
      continue;
    }
    const parsed = parseYamlFile(path, text);
    errors.push(...parsed.errors);
    const doc = parsed.docs[0];
    if (!doc) continue;
    if (!isMap(doc.value)) {
      errors.push(
        new RenderError({
          code: 'document',
          file: path,
          doc: 0,
          ...doc.locate([]),
          message: 'a values file must be a map',
        }),
      );
      continue;
    }
    values = mergeValues(values, doc.value);
    for (const leaf of leafPaths(doc.value))
      fromFiles.push({ file: path, doc: 0, line: doc.locate(leaf).line, path: leaf.join('.') });
  }
  values = mergeValues(values, spec.values);
  return { values, fromFiles, errors };
}

function leafPaths(value: Record<string, unknown>, prefix: string[] = []): string[][] {
  return Object.entries(value).flatMap(([k, v]) =>
    isMap(v) && Object.keys(v).length > 0 ? leafPaths(v, [...prefix, k]) : [[...prefix, k]],
  );
}

/** `# Source: web/templates/deployment.yaml` before each document of helm's output, by document index. */
function templateSources(output: string): Map<number, string> {
  const sources = new Map<number, string>();
  const chunks = output.split(/^---[^\n]*$/m);
  const offset = output.startsWith('---') ? 1 : 0;
  chunks.forEach((chunk, i) => {
    const m = /^# Source: (.+)$/m.exec(chunk);
    if (m) sources.set(i - offset, m[1]!.trim());
  });
  return sources;
}

/**
 * Renders one stacked HelmChart with `helm template`, through the runner: its documents carry
 * `builtBy: helm from <file> (doc N), template <source>`, and namespaced objects without a
 * namespace get the release's.
 */
export async function renderChart(
  tree: FileTree,
  chart: StackedChart,
  tools: RenderTools,
  caps: ClusterCapabilities,
  maxFileBytes: number,
  memo: Map<string, RenderedChart>,
): Promise<RenderedChart> {
  const { spec, errors } = readHelmChart(chart.object, chart.definedBy);
  if (!spec) return { docs: [], errors };
  if (!tools.runner) {
    const message = 'helm: this command renders plain YAML only; HelmChart documents need the helm tool';
    return { docs: [], errors: [errorAt(chart.definedBy, [], 'tool', message)] };
  }
  const reads = [
    ...(spec.chart.type === 'path' ? [spec.chart.path] : []),
    ...spec.valuesFiles.map((f) => (f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '')),
  ];
  const stacked = await stackedValues(tree, chart, spec, maxFileBytes);
  const source = await chartFiles(tree, chart, spec, tools, maxFileBytes);
  if (Array.isArray(source) || stacked.errors.length > 0)
    return { docs: [], reads, errors: [...stacked.errors, ...(Array.isArray(source) ? source : [])] };
  source.files.set(VALUES_FILE, new TextEncoder().encode(JSON.stringify(stacked.values)));
  const args = helmArgs(spec, source.chartPath, caps);
  const key = jobKey('helm', source.files, args);
  const where = `${chart.definedBy.file} (doc ${chart.definedBy.index})`;
  const memoKey = `${key}\0${where}\0${chart.id}`;
  const fromDocs = [...chart.values.keys()];
  const overridden = (path: string) =>
    fromDocs.some((k) => k === path || path.startsWith(`${k}.`) || k.startsWith(`${path}.`));
  const values = [...stacked.fromFiles.filter((v) => !overridden(v.path)), ...chart.values.values()].sort(
    (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  const report = {
    id: chart.id,
    chart: describeSource(spec),
    releaseName: spec.releaseName,
    namespace: spec.namespace,
    values,
  };
  const seen = memo.get(memoKey);
  if (seen) return { ...seen, reads, report };
  const result = await tools.runner.run({ tool: 'helm', files: source.files, args, key });
  if (!result.ok) {
    const e = toolError(chart.definedBy.file, 'helm', result);
    return {
      docs: [],
      reads,
      errors: [
        new RenderError({
          ...e.toJSON(),
          doc: chart.definedBy.index,
          ...chart.definedBy.locate([]),
          object: chart.id,
        }),
      ],
    };
  }
  const parsed = parseYamlFile(`${where} helm output`, result.output);
  const sources = templateSources(result.output);
  // As `helm install` does: namespaced objects the templates give no namespace go to the release's.
  const docs = withDefaultNamespace(parsed.docs, spec.namespace).map((d) => {
    const template = sources.get(d.index);
    return literalDocuments([d], `helm from ${where}${template ? `, template ${template}` : ''}`)[0]!;
  });
  const rendered: RenderedChart = { key, docs, errors: parsed.errors };
  memo.set(memoKey, rendered);
  return { ...rendered, reads, report };
}
