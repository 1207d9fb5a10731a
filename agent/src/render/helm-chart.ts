import { type KubeObject, objectId } from '../model/object.js';
import { STRATA_API } from './classify.js';
import type { ParsedDocument } from './documents.js';
import { RenderError } from './errors.js';
import type { RemoteChart } from './tools.js';

/** The kind of Strata's HelmChart document, a chart rendered in place in a layer. */
export const HELM_CHART_KIND = 'HelmChart';

/** Where a HelmChart's chart comes from. */
export type ChartSource = { type: 'path'; path: string } | RemoteChart;

/** A `strata.dev/v1` `HelmChart` document, checked, after every layer's patches. */
export interface HelmChartSpec {
  releaseName: string;
  namespace: string;
  chart: ChartSource;
  values: Record<string, unknown>;
  /** Repository paths of values files, merged in order before `values`. */
  valuesFiles: string[];
  includeCRDs: boolean;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const FIELDS = [
  'apiVersion',
  'kind',
  'metadata',
  'chart',
  'releaseName',
  'values',
  'valuesFiles',
  'includeCRDs',
];
const CHART_FIELDS = ['path', 'repo', 'name', 'oci', 'version', 'digest'];

const rawOf = (doc: ParsedDocument) => (isMap(doc.value) ? doc.value : undefined);

/** Whether a document is a HelmChart, whatever the cluster. */
export function isHelmChartDocument(doc: ParsedDocument): boolean {
  const v = rawOf(doc);
  return v?.apiVersion === STRATA_API && v.kind === HELM_CHART_KIND;
}

/** Whether a Patch document targets HelmChart documents: those patches stack values and run before any chart renders. */
export function isHelmChartPatch(doc: ParsedDocument): boolean {
  const v = rawOf(doc);
  return (
    v?.apiVersion === STRATA_API && v.kind === 'Patch' && isMap(v.target) && v.target.kind === HELM_CHART_KIND
  );
}

/** A repository path: relative, inside the repository. */
function repoPath(path: string): string | undefined {
  const parts = path.replace(/^\.\//, '').replace(/\/$/, '').split('/');
  if (path.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.')) return undefined;
  return parts.join('/');
}

/**
 * Checks a HelmChart after stacking; every problem is located in `at` (the document that defined
 * it: later patches changed its value, but that is where a reader looks first).
 */
export function readHelmChart(
  object: KubeObject,
  at: ParsedDocument,
): { spec?: HelmChartSpec; errors: RenderError[] } {
  const errors: RenderError[] = [];
  const fail = (path: (string | number)[], message: string) =>
    errors.push(
      new RenderError({
        code: 'document',
        file: at.file,
        doc: at.index,
        ...at.locate(path),
        message,
        object: objectId(object),
      }),
    );
  const value = object as unknown as Record<string, unknown>;
  for (const key of Object.keys(value))
    if (!FIELDS.includes(key)) fail([key], `unknown HelmChart field '${key}'`);
  const chart = readChartSource(value.chart, fail);
  if (value.values !== undefined && !isMap(value.values)) fail(['values'], 'values must be a map');
  const valuesFiles: string[] = [];
  if (value.valuesFiles !== undefined) {
    if (!Array.isArray(value.valuesFiles))
      fail(['valuesFiles'], 'valuesFiles must be a list of repository paths');
    else
      value.valuesFiles.forEach((f: unknown, i: number) => {
        const path = typeof f === 'string' ? repoPath(f) : undefined;
        if (!path) fail(['valuesFiles', i], 'a values file must be a relative path inside the repository');
        else valuesFiles.push(path);
      });
  }
  if (value.includeCRDs !== undefined && typeof value.includeCRDs !== 'boolean')
    fail(['includeCRDs'], 'includeCRDs must be true or false');
  if (
    value.releaseName !== undefined &&
    (typeof value.releaseName !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/.test(value.releaseName))
  )
    fail(['releaseName'], 'releaseName must be a DNS label of at most 53 characters');
  if (errors.length > 0 || !chart) return { errors };
  return {
    errors,
    spec: {
      releaseName: (value.releaseName as string | undefined) ?? object.metadata.name,
      namespace: object.metadata.namespace ?? 'default',
      chart,
      values: (value.values as Record<string, unknown> | undefined) ?? {},
      valuesFiles,
      includeCRDs: value.includeCRDs !== false,
    },
  };
}

function readChartSource(
  chart: unknown,
  fail: (path: (string | number)[], message: string) => void,
): ChartSource | undefined {
  const usage =
    'chart must be { path: DIR } (in this repository), { repo: URL, name: NAME, version: V } or { oci: oci://HOST/PATH, version: V }';
  if (!isMap(chart)) {
    fail(chart === undefined ? [] : ['chart'], usage);
    return undefined;
  }
  for (const key of Object.keys(chart))
    if (!CHART_FIELDS.includes(key)) fail(['chart', key], `unknown chart field '${key}'`);
  for (const key of CHART_FIELDS) {
    if (chart[key] !== undefined && (typeof chart[key] !== 'string' || chart[key] === ''))
      fail(['chart', key], `chart.${key} must be a non-empty string (quote a version like "1.0")`);
  }
  const s = (k: string) => (typeof chart[k] === 'string' ? (chart[k] as string) : undefined);
  const digest = s('digest');
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest))
    fail(['chart', 'digest'], 'chart.digest must be sha256:<64 hex digits>');
  const kinds = ['path', 'repo', 'oci'].filter((k) => chart[k] !== undefined);
  if (kinds.length !== 1) {
    fail(['chart'], usage);
    return undefined;
  }
  if (kinds[0] === 'path') {
    const path = repoPath(s('path') ?? '');
    if (!path) fail(['chart', 'path'], 'chart.path must be a relative folder inside the repository');
    if (chart.version !== undefined || chart.name !== undefined || digest !== undefined)
      fail(['chart'], 'a chart from the repository takes only path (its version is in its Chart.yaml)');
    return path ? { type: 'path', path } : undefined;
  }
  const version = s('version');
  if (!version) fail(['chart', 'version'], 'a chart from a repository or registry needs an exact version');
  if (kinds[0] === 'repo') {
    const url = s('repo') ?? '';
    if (!/^https?:\/\//.test(url))
      fail(['chart', 'repo'], 'chart.repo must be an http(s) URL of a chart repository');
    const name = s('name');
    if (!name) fail(['chart', 'name'], 'a chart from a chart repository needs its name');
    if (!version || !name || !/^https?:\/\//.test(url)) return undefined;
    return { type: 'repo', url: url.replace(/\/+$/, ''), name, version, ...(digest ? { digest } : {}) };
  }
  const ref = s('oci') ?? '';
  if (
    !/^oci:\/\/[^/]+\/.+/.test(ref) ||
    /[@:][^/]*$/.test(ref.slice('oci://'.length).split('/').slice(1).join('/'))
  )
    fail(
      ['chart', 'oci'],
      'chart.oci must be oci://HOST/PATH/NAME, without a tag (the version goes in chart.version)',
    );
  if (!version || !/^oci:\/\/[^/]+\/.+/.test(ref)) return undefined;
  return { type: 'oci', ref, version, ...(digest ? { digest } : {}) };
}
