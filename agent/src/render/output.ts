import { stringify } from 'yaml';
import type { KubeObject } from '../model/object.js';
import { formatLocation } from './errors.js';
import type { DocumentRef, RenderedObject, RenderSuccess } from './provenance.js';

/** Rendered objects as a multi-document YAML stream, keys in authored order. */
export function toYamlStream(objects: readonly { object: KubeObject }[]): string {
  return objects.map(({ object }) => stringify(object, { lineWidth: 0 })).join('---\n');
}

/** Rendered objects as a Kubernetes `v1` List. */
export function toJsonList(objects: readonly { object: KubeObject }[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects.map((o) => o.object) }, null, 2)}\n`;
}

/** A file name for one object: `apps_Deployment_shop_web.yaml` (core group `core`, no namespace `_`). */
export function objectFileName(object: KubeObject): string {
  const slash = object.apiVersion.indexOf('/');
  const group = slash < 0 ? 'core' : object.apiVersion.slice(0, slash);
  const parts = [group, object.kind, object.metadata.namespace ?? '_', object.metadata.name];
  return `${parts.map((p) => p.replace(/[^A-Za-z0-9.-]/g, '-')).join('_')}.yaml`;
}

const at = (ref: DocumentRef) =>
  ref.builtBy
    ? `built by ${ref.builtBy} (output doc ${ref.doc})`
    : formatLocation({ file: ref.file, line: ref.line, doc: ref.doc });

function explainObject({ id, provenance }: RenderedObject): string[] {
  const lines = [`  ${id}`, `    defined   ${at(provenance.definedAt)}  [layer ${provenance.layer}]`];
  for (const r of provenance.replaced) lines.push(`    replaces  ${at(r)}  [layer ${r.layer}]`);
  for (const p of provenance.patches) lines.push(`    ${p.op.padEnd(9)} ${at(p)}`);
  return lines;
}

/** The human explanation of a render: layers used and skipped, where each object came from, what was dropped. */
export function explainRender(
  cluster: { name: string; labels: Record<string, string> },
  result: RenderSuccess,
): string {
  const labels = Object.entries(cluster.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [`cluster ${cluster.name} (${labels || 'no labels'})`, 'layers:'];
  for (const l of result.layers) {
    const outcome = l.used ? l.dir : `${l.dir ? `${l.dir}: ` : ''}skipped, ${l.reason}`;
    lines.push(`  ${l.template.padEnd(28)} ${outcome}`);
  }
  lines.push(`objects (${result.objects.length}):`);
  for (const o of result.objects) lines.push(...explainObject(o));
  for (const chart of result.charts ?? []) {
    lines.push(`chart ${chart.id}: ${chart.chart}, release ${chart.releaseName} in ${chart.namespace}`);
    if (chart.values.length === 0) lines.push('    values    (chart defaults only)');
    for (const v of chart.values) lines.push(`    ${v.path.padEnd(24)} set by ${at(v)}`);
  }
  if (result.dropped.length > 0) {
    lines.push(`dropped (${result.dropped.length}):`);
    for (const d of result.dropped) lines.push(`  ${d.id}  ${at(d.definedAt)}: ${d.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
