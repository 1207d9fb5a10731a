/**
 * Generates agent/src/render/merge-keys.generated.json: which lists Kubernetes merges by key
 * (strategic merge patch), read from the Kubernetes OpenAPI spec in the k8s.io/kubernetes Go module.
 *
 *   npx tsx tools/gen-merge-keys.ts [path/to/swagger.json]
 *
 * Without an argument it finds k8s.io/kubernetes@v1.36.* in the Go module cache, downloading it with
 * `go mod download` when missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULE = 'k8s.io/kubernetes';
const VERSION = 'v1.36.3';
const OUT = new URL('../agent/src/render/merge-keys.generated.json', import.meta.url);
const PREFIX = '#/definitions/';

interface SchemaProp {
  $ref?: string;
  type?: string;
  items?: SchemaProp;
  additionalProperties?: SchemaProp | boolean;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-list-type'?: string;
}
interface Definition {
  properties?: Record<string, SchemaProp>;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}
/** One field of the generated table: the element type it leads to and how its list merges. */
interface FieldRule {
  type?: string;
  keys?: string[];
  union?: true;
  map?: true;
}

function findSpec(): { path: string; version: string } {
  const modcache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const dir = join(modcache, 'k8s.io');
  const found = readdirSync(dir).filter((d) => d.startsWith('kubernetes@v1.36.'));
  let version = found.sort().at(-1)?.split('@')[1];
  if (!version) {
    const work = mkdtempSync(join(tmpdir(), 'k8s-openapi-'));
    execFileSync('go', ['mod', 'download', '-json', `${MODULE}@${VERSION}`], {
      cwd: work,
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      stdio: 'inherit',
    });
    version = VERSION;
  }
  return { path: join(dir, `kubernetes@${version}`, 'api/openapi-spec/swagger.json'), version };
}

const shortName = (ref: string) => ref.slice(PREFIX.length).replace(/^io\.k8s\.(api\.)?/, '');

function fieldRule(prop: SchemaProp): FieldRule | undefined {
  if (prop.$ref) return { type: shortName(prop.$ref) };
  if (prop.type === 'array' && prop.items) {
    const rule: FieldRule = {};
    if (prop.items.$ref) rule.type = shortName(prop.items.$ref);
    // kustomize's rule (kyaml): a list merges item by item only when its patch strategy says
    // `merge`; it is then keyed by all its list-map keys (container ports by containerPort and
    // protocol), else by its patch merge key, else it is a list of scalars merged as a set.
    const strategy = prop['x-kubernetes-patch-strategy']?.split(',') ?? [];
    const mergeKey = prop['x-kubernetes-patch-merge-key'];
    const mapKeys = prop['x-kubernetes-list-map-keys'];
    if (strategy.includes('merge')) {
      if (mapKeys && mapKeys.length > 0) rule.keys = [...mapKeys];
      else if (mergeKey) rule.keys = [mergeKey];
      else if (!prop.items.$ref) rule.union = true;
    }
    return rule.type || rule.keys || rule.union ? rule : undefined;
  }
  const values = prop.additionalProperties;
  if (typeof values === 'object' && values.$ref) return { type: shortName(values.$ref), map: true };
  return undefined;
}

function generate(definitions: Record<string, Definition>) {
  const fields = new Map<string, Record<string, FieldRule>>();
  for (const [name, def] of Object.entries(definitions)) {
    const rules: Record<string, FieldRule> = {};
    for (const [field, prop] of Object.entries(def.properties ?? {})) {
      const rule = fieldRule(prop);
      if (rule) rules[field] = rule;
    }
    fields.set(shortName(PREFIX + name), rules);
  }
  // Keep only the types from which a keyed or union list can be reached.
  const relevant = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [type, rules] of fields) {
      if (relevant.has(type)) continue;
      const reaches = Object.values(rules).some(
        (r) => r.keys || r.union || (r.type !== undefined && relevant.has(r.type)),
      );
      if (reaches) {
        relevant.add(type);
        changed = true;
      }
    }
  }
  const types: Record<string, Record<string, FieldRule>> = {};
  for (const type of [...relevant].sort()) {
    const kept: Record<string, FieldRule> = {};
    const rules = fields.get(type) ?? {};
    for (const field of Object.keys(rules).sort()) {
      const rule = { ...rules[field] };
      if (rule.type && !relevant.has(rule.type)) delete rule.type;
      if (rule.type || rule.keys || rule.union) kept[field] = rule;
    }
    types[type] = kept;
  }
  const kinds: Record<string, string> = {};
  for (const [name, def] of Object.entries(definitions)) {
    const type = shortName(PREFIX + name);
    if (!relevant.has(type)) continue;
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      kinds[`${apiVersion}/${gvk.kind}`] = type;
    }
  }
  const sortedKinds = Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { kinds: sortedKinds, types };
}

interface PathItem {
  [method: string]: { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string } };
}

/**
 * Kinds the API serves only outside namespaces: seen on some path, never under
 * `/namespaces/{namespace}/`. A layer's default namespace is not given to these.
 */
function clusterScopedKinds(paths: Record<string, PathItem>): string[] {
  const seen = new Set<string>();
  const namespaced = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const operation of Object.values(item)) {
      const gvk = operation?.['x-kubernetes-group-version-kind'];
      if (!gvk) continue;
      const key = `${gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version}/${gvk.kind}`;
      seen.add(key);
      if (path.includes('/namespaces/{namespace}/')) namespaced.add(key);
    }
  }
  return [...seen].filter((k) => !namespaced.has(k)).sort();
}

const spec = process.argv[2] ? { path: process.argv[2], version: 'given' } : findSpec();
const swagger = JSON.parse(readFileSync(spec.path, 'utf8')) as {
  definitions: Record<string, Definition>;
  paths: Record<string, PathItem>;
};
const table = {
  source: `${MODULE}@${spec.version} api/openapi-spec/swagger.json`,
  ...generate(swagger.definitions),
  clusterScoped: clusterScopedKinds(swagger.paths),
};
writeFileSync(OUT, `${JSON.stringify(table, null, 1)}\n`);
process.stdout.write(
  `wrote ${OUT.pathname}: ${Object.keys(table.kinds).length} kinds, ${Object.keys(table.types).length} types\n`,
);
