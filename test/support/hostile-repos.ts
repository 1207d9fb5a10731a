// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
/**
 * Hostile repositories: a table of fleet repositories a stranger could push, each with the render
 * error it must produce (its code and exact place). The render tests check every case offline
 * (test/unit/render/hostile.test.ts); test/e2e/hostile-agent.test.ts commits a representative
 * subset to the real Git server and checks that the live agent reports the same place and leaves
 * the lab cluster exactly as it was: nothing applied, nothing pruned.
 */
import type { RenderError } from '../../agent/src/render/index.js';

/** A file's text or bytes, or `{ symlink: target }`. */
export type RepoFile = string | Uint8Array | { symlink: string };

export interface HostileCase {
  name: string;
  files: Record<string, RepoFile>;
  /** The error that must be reported: its code and exact location. */
  error: Partial<Pick<RenderError, 'code' | 'file' | 'doc' | 'line' | 'column' | 'object'>> & {
    message: RegExp;
    patch?: { op: string; path?: string };
  };
  /** A smaller per-file limit than the agent's (5 MiB), so the render test stays small. */
  maxFileBytes?: number;
}

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: { app: web }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
`;
const web = { 'global/web.yaml': deployment };
const patch = (body: string) => `apiVersion: strata.dev/v1\nkind: Patch\n${body}`;
const fleet = (body: string) => `apiVersion: strata.dev/v1\nkind: Fleet\n${body}`;

/** A case whose strata.yaml, `fleet(body)` beside web.yaml, is refused at `line` of its one document. */
function badFleetFile(name: string, body: string, line: number, message: RegExp): HostileCase {
  return {
    name,
    files: { ...web, 'strata.yaml': fleet(body) },
    error: { code: 'config', file: 'strata.yaml', doc: 0, line, message },
  };
}

/** A case whose patch global/p.yaml, `patch(body)` on web.yaml's Deployment, fails with `error`. */
function badPatch(
  name: string,
  body: string,
  error: Omit<HostileCase['error'], 'code' | 'file'>,
): HostileCase {
  return {
    name,
    files: { ...web, 'global/p.yaml': patch(body) },
    error: { code: 'patch', file: 'global/p.yaml', ...error },
  };
}

/** A case of one file, global/a.yaml (`text`), whose first document is refused with `error`. */
function badDocument(
  name: string,
  text: string,
  error: Omit<HostileCase['error'], 'file' | 'doc'>,
): HostileCase {
  return { name, files: { 'global/a.yaml': text }, error: { file: 'global/a.yaml', doc: 0, ...error } };
}

/** Every hostile repository, for the cluster `prod-hz` (region cn-hangzhou, env prod). */
export const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'malformed YAML (bad indentation)',
    files: { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   namespace: b\n' },
    error: { code: 'yaml', file: 'global/a.yaml', doc: 0, line: 5, column: 13, message: /bad indentation/ },
  },
  {
    name: 'unterminated quoted string',
    files: { 'global/a.yaml': `${cm}data:\n  x: "open\n` },
    // Located at the opening quote, not at the line after it where the parser gave up.
    error: {
      code: 'yaml',
      file: 'global/a.yaml',
      doc: 0,
      line: 6,
      column: 6,
      message: /unterminated quoted string: the " here is never closed/,
    },
  },
  {
    name: 'duplicate map key',
    files: { 'global/a.yaml': `${cm}data:\n  x: "1"\n  x: "2"\n` },
    error: { code: 'yaml', file: 'global/a.yaml', doc: 0, line: 7, column: 3, message: /duplicate key 'x'/ },
  },
  {
    name: 'syntax error in the second document reports that document',
    files: { 'global/a.yaml': `${cm}---\n${cm}data: [unclosed\n` },
    error: { code: 'yaml', file: 'global/a.yaml', doc: 1, message: /./ },
  },
  {
    name: 'a document that is a plain string',
    files: { 'global/a.yaml': 'just some text\n' },
    error: { code: 'document', file: 'global/a.yaml', doc: 0, line: 1, column: 1, message: /not a string/ },
  },
  {
    name: 'a document that is a list',
    files: { 'global/a.yaml': `${cm}---\n- a\n- b\n` },
    error: { code: 'document', file: 'global/a.yaml', doc: 1, line: 6, message: /not a list/ },
  },
  badDocument('missing kind', 'apiVersion: v1\nmetadata:\n  name: a\n', {
    code: 'document',
    line: 1,
    message: /kind must be a non-empty string \(missing\)/,
  }),
  {
    name: 'missing apiVersion',
    files: { 'global/a.yaml': '# comment\nkind: ConfigMap\nmetadata:\n  name: a\n' },
    error: { code: 'document', file: 'global/a.yaml', doc: 0, line: 2, message: /apiVersion/ },
  },
  {
    name: 'missing metadata',
    files: { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\ndata: {}\n' },
    error: { code: 'document', file: 'global/a.yaml', doc: 0, line: 1, message: /metadata must be a map/ },
  },
  {
    name: 'missing metadata.name',
    files: { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n' },
    error: { code: 'document', file: 'global/a.yaml', doc: 0, line: 4, message: /metadata.name/ },
  },
  {
    name: 'a name that is not a string',
    files: { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 12\n' },
    error: { code: 'document', file: 'global/a.yaml', doc: 0, line: 4, column: 9, message: /metadata.name/ },
  },
  badDocument('a label value that is not a string', `${cm}  labels:\n    replicas: 3\n`, {
    code: 'document',
    line: 6,
    message: /label 'replicas' must be a string/,
  }),
  {
    name: 'duplicate identity in one layer, across two files',
    files: { 'global/a.yaml': cm, 'global/b/c.yaml': `# again\n${cm}` },
    error: {
      code: 'duplicate',
      file: 'global/b/c.yaml',
      doc: 0,
      line: 2,
      object: '/ConfigMap//a',
      message: /defined twice/,
    },
  },
  {
    name: 'duplicate identity in one file',
    files: { 'global/a.yaml': `${cm}---\n${cm}` },
    error: {
      code: 'duplicate',
      file: 'global/a.yaml',
      doc: 1,
      line: 6,
      message: /defined twice in layer 'global'/,
    },
  },
  {
    name: 'a patch whose target matches nothing',
    files: {
      ...web,
      'global/p.yaml': patch('target:\n  kind: Deployment\n  name: api\nmerge: { spec: { replicas: 1 } }\n'),
    },
    error: { code: 'target', file: 'global/p.yaml', doc: 0, line: 4, message: /matches no object/ },
  },
  {
    name: 'a patch on an object its cluster selector dropped',
    files: {
      'global/a.yaml': `${cm}  annotations: { strata.dev/cluster-selector: env=staging }\n`,
      'clusters/prod-hz/p.yaml': patch('target: { kind: ConfigMap, name: a }\nmerge: { data: { x: "1" } }\n'),
    },
    error: { code: 'target', file: 'clusters/prod-hz/p.yaml', line: 3, message: /matches no object/ },
  },
  badPatch(
    'jsonPatch on a missing path',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: add, path: /spec/replicas, value: 1 }\n  - { op: replace, path: /spec/strategy/type, value: Recreate }\n',
    {
      line: 6,
      object: 'apps/Deployment/shop/web',
      patch: { op: 'jsonPatch[1] replace', path: '/spec/strategy/type' },
      message: /path does not exist/,
    },
  ),
  badPatch(
    'jsonPatch test operation that fails',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: test, path: /spec/replicas, value: 9 }\n',
    { line: 5, patch: { op: 'jsonPatch[0] test', path: '/spec/replicas' }, message: /test/ },
  ),
  badPatch(
    'jsonPatch with an unknown operation',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: bogus, path: /a }\n',
    { line: 5, patch: { op: 'jsonPatch[0] bogus', path: '/a' }, message: /./ },
  ),
  badPatch(
    'merge with a keyed list item lacking its key',
    'target: { kind: Deployment }\nmerge:\n  spec:\n    template:\n      spec:\n        containers:\n          - image: x:1\n',
    { line: 9, column: 13, patch: { op: 'merge' }, message: /no merge key 'name'/ },
  ),
  {
    name: 'a bad cluster-selector annotation',
    files: { 'global/a.yaml': `${cm}  annotations:\n    strata.dev/cluster-selector: "env in (prod"\n` },
    error: { code: 'selector', file: 'global/a.yaml', line: 6, message: /bad label selector/ },
  },
  {
    name: 'a bad labelSelector in a patch target',
    files: { ...web, 'global/p.yaml': patch('target:\n  labelSelector: "app=,=x"\nmerge: { a: 1 }\n') },
    error: { code: 'selector', file: 'global/p.yaml', line: 4, message: /bad label selector/ },
  },
  {
    name: 'an unknown cluster label variable',
    files: { 'global/a.yaml': `${cm}data:\n  zone: "\${cluster.labels.zone}"\n` },
    error: { code: 'variable', file: 'global/a.yaml', line: 6, column: 9, message: /has no label 'zone'/ },
  },
  {
    name: 'an unknown cluster variable',
    files: { 'global/a.yaml': `${cm}data:\n  x: "\${cluster.id}"\n` },
    error: {
      code: 'variable',
      file: 'global/a.yaml',
      line: 6,
      message: /unknown variable '\$\{cluster.id\}'/,
    },
  },
  {
    name: 'an unterminated variable',
    files: { 'global/a.yaml': `${cm}data:\n  x: "\${cluster.name"\n` },
    error: { code: 'variable', file: 'global/a.yaml', line: 6, message: /unterminated/ },
  },
  {
    name: 'a file symlink that leaves the repository',
    files: { 'global/a.yaml': cm, 'global/evil.yaml': { symlink: '../../../../../../etc/passwd' } },
    error: { code: 'file', file: 'global/evil.yaml', message: /leaves the repository/ },
  },
  {
    name: 'an absolute symlink',
    files: { 'global/a.yaml': cm, 'global/evil.yaml': { symlink: '/etc/hostname' } },
    error: { code: 'file', file: 'global/evil.yaml', message: /leaves the repository/ },
  },
  {
    name: 'a folder symlink that leaves the repository',
    files: { 'global/a.yaml': cm, 'global/etc': { symlink: '/etc' } },
    error: { code: 'file', file: 'global/etc', message: /leaves the repository/ },
  },
  {
    name: 'a layer folder that is itself a symlink out of the repository',
    files: { 'clusters/x.yaml': cm, global: { symlink: '/etc' } },
    error: { code: 'file', file: 'global', message: /symlink to '\/etc' leaves the repository; refused/ },
  },
  {
    name: 'a file over the size limit',
    files: { 'global/a.yaml': cm, 'global/big.yaml': `${cm}data:\n  x: "${'x'.repeat(2000)}"\n` },
    maxFileBytes: 1024,
    error: { code: 'file', file: 'global/big.yaml', message: /over the 1024-byte limit/ },
  },
  {
    name: 'a file that is not UTF-8',
    files: { 'global/a.yaml': new Uint8Array([0x6b, 0x3a, 0x20, 0xff, 0xfe, 0x0a]) },
    error: { code: 'file', file: 'global/a.yaml', message: /not valid UTF-8/ },
  },
  {
    name: 'an empty repository',
    files: { 'README.md': 'nothing here\n' },
    error: {
      code: 'config',
      message:
        /no layer folder exists for this cluster \(looked for global, regions\/cn-hangzhou, clusters\/prod-hz\)/,
    },
  },
  {
    name: 'a misspelt Patch field',
    files: {
      ...web,
      'global/p.yaml': patch('target: { kind: Deployment }\nmerges: { spec: { replicas: 1 } }\n'),
    },
    error: { code: 'document', file: 'global/p.yaml', line: 4, message: /unknown Patch field 'merges'/ },
  },
  {
    name: 'a Patch without a target',
    files: { ...web, 'global/p.yaml': patch('merge: { spec: { replicas: 1 } }\n') },
    error: { code: 'document', file: 'global/p.yaml', line: 1, message: /needs a target/ },
  },
  {
    name: 'an unquoted image tag YAML reads as a number',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\nimages:\n  - name: registry.example.com/web\n    newTag: 1.20\n',
      ),
    },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      line: 6,
      message: /newTag must be a string \(quote it: "1.2"/,
    },
  },
  badPatch(
    'an image override no container uses',
    'target: { kind: Deployment }\nimages:\n  - name: registry.example.com/wbe\n    newTag: "2"\n',
    { line: 5, patch: { op: 'images[0]' }, message: /no container in the target uses image/ },
  ),
  badPatch(
    'a patch that renames its target',
    'target: { kind: Deployment }\nmerge:\n  metadata: { name: other }\n',
    { line: 5, object: 'apps/Deployment/shop/web', message: /cannot change/ },
  ),
  {
    name: 'delete combined with a merge',
    files: {
      ...web,
      'global/p.yaml': patch('target: { kind: Deployment }\nmerge: { a: 1 }\ndelete: true\n'),
    },
    error: { code: 'document', file: 'global/p.yaml', line: 5, message: /cannot be combined/ },
  },
  {
    name: 'a Fleet document inside a layer',
    files: { ...web, 'global/fleet.yaml': 'apiVersion: strata.dev/v1\nkind: Fleet\nmetadata: { name: x }\n' },
    error: {
      code: 'document',
      file: 'global/fleet.yaml',
      line: 2,
      message: /unknown strata.dev\/v1 kind 'Fleet'/,
    },
  },
  {
    name: 'strata.yaml of the wrong kind',
    files: { ...web, 'strata.yaml': 'apiVersion: strata.dev/v1\nkind: Fleets\nlayers: [{ path: global }]\n' },
    error: { code: 'config', file: 'strata.yaml', line: 2, message: /kind must be 'Fleet'/ },
  },
  {
    name: 'a YAML alias bomb',
    files: {
      'global/a.yaml': `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
    },
    error: { code: 'yaml', file: 'global/a.yaml', line: 4, message: /excessive aliasing/ },
  },

  // YAML syntax
  badDocument('a tab used for indentation', `${cm}data:\n\tx: "1"\n`, {
    code: 'yaml',
    line: 6,
    column: 1,
    message: /tab characters must not be used in indentation/,
  }),
  badDocument('an unclosed flow mapping', `${cm}data: { x: "1"\n`, {
    code: 'yaml',
    line: 6,
    column: 1,
    message: /deficient indentation/,
  }),
  badDocument('an unclosed flow sequence', `${cm}data:\n  x: [1, 2\n`, {
    code: 'yaml',
    line: 7,
    column: 1,
    message: /deficient indentation/,
  }),
  badDocument('an alias to an anchor that does not exist', `${cm}data:\n  x: *nowhere\n`, {
    code: 'yaml',
    line: 6,
    column: 6,
    message: /unknown anchor 'nowhere' referenced/,
  }),
  badDocument('an invalid escape in a double-quoted string', `${cm}data:\n  x: "\\q"\n`, {
    code: 'yaml',
    line: 6,
    column: 8,
    message: /unknown escape sequence/,
  }),
  badDocument('a stray closing bracket', `${cm}data: ]\n`, {
    code: 'yaml',
    line: 5,
    column: 7,
    message: /bad indentation of a mapping entry/,
  }),
  badDocument('a compact nested mapping on one line', `${cm}data:\n  x: y: z\n`, {
    code: 'yaml',
    line: 6,
    column: 7,
    message: /bad indentation of a mapping entry/,
  }),
  badDocument('a block scalar with a bad indentation indicator', `${cm}data:\n  x: |0\n    text\n`, {
    code: 'yaml',
    line: 6,
    column: 7,
    message: /bad explicit indentation width of a block scalar/,
  }),
  {
    name: 'a duplicate key in the third document',
    files: { 'global/a.yaml': `${cm}---\n${cm}---\n${cm}  name: b\n` },
    error: {
      code: 'yaml',
      file: 'global/a.yaml',
      doc: 2,
      line: 15,
      column: 3,
      message: /duplicate key 'name'/,
    },
  },
  {
    name: 'a syntax error in a later layer',
    files: { 'global/a.yaml': cm, 'regions/cn-hangzhou/b.yaml': `${cm}data: {\n` },
    error: {
      code: 'yaml',
      file: 'regions/cn-hangzhou/b.yaml',
      doc: 0,
      line: 6,
      column: 1,
      message: /deficient indentation/,
    },
  },
  {
    name: 'a syntax error deep in a folder',
    files: { 'global/a/b/c/d.yaml': `${cm}data: "x\n` },
    error: {
      code: 'yaml',
      file: 'global/a/b/c/d.yaml',
      doc: 0,
      line: 5,
      column: 7,
      message: /unterminated quoted string/,
    },
  },
  {
    name: 'a .yml file with bad YAML',
    files: { 'global/a.yml': `${cm}  - x\n` },
    error: {
      code: 'yaml',
      file: 'global/a.yml',
      doc: 0,
      line: 5,
      column: 3,
      message: /bad indentation of a mapping entry/,
    },
  },
  // document shape
  badDocument('apiVersion that is a number', 'apiVersion: 1\nkind: ConfigMap\nmetadata:\n  name: a\n', {
    code: 'document',
    line: 1,
    message: /apiVersion must be a non-empty string/,
  }),
  badDocument('kind that is a list', 'apiVersion: v1\nkind: [ConfigMap]\nmetadata:\n  name: a\n', {
    code: 'document',
    line: 2,
    message: /kind must be a non-empty string/,
  }),
  badDocument('metadata that is a list', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  - name: a\n', {
    code: 'document',
    line: 4,
    message: /metadata must be a map with a name/,
  }),
  badDocument('an empty name', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ""\n', {
    code: 'document',
    line: 4,
    message: /metadata\.name must be a non-empty string/,
  }),
  badDocument('a namespace that is a number', `${cm}  namespace: 7\n`, {
    code: 'document',
    line: 5,
    message: /metadata\.namespace must be a non-empty string/,
  }),
  badDocument('labels that are a list', `${cm}  labels: [a, b]\n`, {
    code: 'document',
    line: 5,
    message: /label must be a map of strings/,
  }),
  badDocument('annotations that are a string', `${cm}  annotations: nope\n`, {
    code: 'document',
    line: 5,
    message: /annotation must be a map of strings/,
  }),
  badDocument('an annotation value that is a map', `${cm}  annotations:\n    x: { y: 1 }\n`, {
    code: 'document',
    line: 6,
    message: /annotation 'x' must be a string \(quote it\)/,
  }),
  badDocument('a document that is a number', '42\n', {
    code: 'document',
    line: 1,
    message: /a document must be a Kubernetes object or a stra/,
  }),
  {
    name: 'a document that is null among objects',
    files: { 'global/a.yaml': `${cm}---\n~\n---\napiVersion: v1\n` },
    error: {
      code: 'document',
      file: 'global/a.yaml',
      doc: 2,
      line: 8,
      message: /kind must be a non-empty string \(missing\)/,
    },
  },
  {
    name: 'an unknown strata.dev kind',
    files: { ...web, 'global/x.yaml': 'apiVersion: strata.dev/v1\nkind: Overlay\n' },
    error: {
      code: 'document',
      file: 'global/x.yaml',
      doc: 0,
      line: 1,
      message: /metadata must be a map with a name/,
    },
  },
  {
    name: 'a strata.dev object of an unknown version',
    files: {
      ...web,
      'global/x.yaml': 'apiVersion: strata.dev/v9\nkind: Patch\ntarget: { kind: Deployment }\n',
    },
    error: {
      code: 'document',
      file: 'global/x.yaml',
      doc: 0,
      line: 1,
      message: /metadata must be a map with a name/,
    },
  },
  // identity
  {
    name: 'the same Namespace twice in one layer',
    files: {
      'global/a.yaml':
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
    },
    error: {
      code: 'duplicate',
      file: 'global/a.yaml',
      doc: 1,
      line: 5,
      object: '/Namespace//shop',
      message: /\/Namespace\/\/shop is defined twice in layer 'glob/,
    },
  },
  {
    name: 'the same object under two apiVersions of one group',
    files: { 'global/a.yaml': deployment, 'global/b.yaml': deployment.replace('apps/v1', 'apps/v1beta2') },
    error: {
      code: 'duplicate',
      file: 'global/b.yaml',
      doc: 0,
      line: 1,
      object: 'apps/Deployment/shop/web',
      message: /apps\/Deployment\/shop\/web is defined twice in lay/,
    },
  },
  {
    name: 'the same object twice in a cluster layer',
    files: { 'global/z.yaml': deployment, 'clusters/prod-hz/a.yaml': `${cm}---\n${cm}` },
    error: {
      code: 'duplicate',
      file: 'clusters/prod-hz/a.yaml',
      doc: 1,
      line: 6,
      object: '/ConfigMap//a',
      message: /\/ConfigMap\/\/a is defined twice in layer 'cluster/,
    },
  },
  // patches
  {
    name: 'jsonPatch that is not a list',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\njsonPatch: { op: remove }\n') },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 4,
      message: /jsonPatch must be a list of RFC 6902 operations/,
    },
  },
  {
    name: 'merge that is not a map',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\nmerge: [1, 2]\n') },
    error: { code: 'document', file: 'global/p.yaml', doc: 0, line: 4, message: /merge must be a map/ },
  },
  {
    name: 'a target that is a string',
    files: { ...web, 'global/p.yaml': patch('target: Deployment\nmerge: { spec: {} }\n') },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 3,
      message: /a Patch needs a target map \(kind, name, namespac/,
    },
  },
  badPatch(
    'a jsonPatch operation without a path',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: remove }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /Operation `path` property is not a string/,
    },
  ),
  badPatch(
    'a jsonPatch add without a value',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: add, path: /spec/x }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /Operation `value` property is not present \(appli/,
    },
  ),
  badPatch(
    'a jsonPatch replace of a missing field',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: replace, path: /spec/nope, value: 1 }\n',
    { doc: 0, line: 5, object: 'apps/Deployment/shop/web', message: /path does not exist in the object/ },
  ),
  badPatch(
    'a jsonPatch move from a missing field',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: move, from: /spec/nope, path: /spec/x }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /'from' path does not exist in the object/,
    },
  ),
  badPatch(
    'a jsonPatch that removes the name',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: remove, path: /metadata/name }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /a patch cannot change an object's apiVersion gro/,
    },
  ),
  badPatch(
    'a jsonPatch that changes the kind',
    'target: { kind: Deployment }\njsonPatch:\n  - { op: replace, path: /kind, value: StatefulSet }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /a patch cannot change an object's apiVersion gro/,
    },
  ),
  badPatch(
    'a merge that changes the namespace',
    'target: { kind: Deployment }\nmerge:\n  metadata: { namespace: other }\n',
    {
      doc: 0,
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /a patch cannot change an object's apiVersion gro/,
    },
  ),
  {
    name: 'a patch in a later layer whose target matches nothing',
    files: {
      ...web,
      'clusters/prod-hz/p.yaml': patch('target: { kind: Service, name: web }\nmerge: { spec: {} }\n'),
    },
    error: {
      code: 'target',
      file: 'clusters/prod-hz/p.yaml',
      doc: 0,
      line: 3,
      message: /target \(kind=Service, name=web\) matches no objec/,
    },
  },
  {
    name: 'a patch whose labelSelector matches nothing',
    files: { ...web, 'global/p.yaml': patch('target:\n  labelSelector: app=nope\nmerge: { spec: {} }\n') },
    error: {
      code: 'target',
      file: 'global/p.yaml',
      doc: 0,
      line: 4,
      message: /target \(labelSelector\) matches no object in this/,
    },
  },
  {
    name: 'delete that is not a boolean',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\ndelete: "yes"\n') },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 4,
      message: /delete must be true or false/,
    },
  },
  {
    name: 'optional that is not a boolean',
    files: {
      ...web,
      'global/p.yaml': patch('target: { kind: Deployment }\noptional: 1\nmerge: { spec: {} }\n'),
    },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 4,
      message: /optional must be true or false/,
    },
  },
  {
    name: 'images that is not a list',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\nimages: { name: x }\n') },
    error: { code: 'document', file: 'global/p.yaml', doc: 0, line: 4, message: /images must be a list/ },
  },
  {
    name: 'an image override without a name',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\nimages:\n  - newTag: "2"\n') },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 5,
      message: /images\[\]\.name must be a non-empty string \(missin/,
    },
  },
  {
    name: 'a Patch that does nothing',
    files: { ...web, 'global/p.yaml': patch('target: { kind: Deployment }\n') },
    error: {
      code: 'document',
      file: 'global/p.yaml',
      doc: 0,
      line: 1,
      message: /a Patch needs merge, jsonPatch, images or delete/,
    },
  },
  // variables
  badDocument('a variable with an empty label key', `${cm}data:\n  x: "\${cluster.labels.}"\n`, {
    code: 'variable',
    line: 6,
    message: /unknown variable '\$\{cluster\.labels\.\}': cluster '/,
  }),
  badDocument('a variable naming the labels map itself', `${cm}data:\n  x: "\${cluster.labels}"\n`, {
    code: 'variable',
    line: 6,
    message: /unknown variable '\$\{cluster\.labels\}': use \$\{clus/,
  }),
  badDocument('a nested variable', `${cm}data:\n  x: "\${cluster.\${cluster.name}}"\n`, {
    code: 'variable',
    line: 6,
    message: /unknown variable '\$\{cluster\.\$\{cluster\.name\}': us/,
  }),
  {
    name: 'an unknown variable in a patch',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\nmerge:\n  metadata:\n    labels: { x: "${cluster.labels.nope}" }\n',
      ),
    },
    error: {
      code: 'variable',
      file: 'global/p.yaml',
      doc: 0,
      line: 6,
      message: /unknown variable '\$\{cluster\.labels\.nope\}': clust/,
    },
  },
  // files and the tree
  {
    name: 'a symlink loop',
    files: {
      'global/a.yaml': cm,
      'global/loop1.yaml': { symlink: 'loop2.yaml' },
      'global/loop2.yaml': { symlink: 'loop1.yaml' },
    },
    error: { code: 'file', file: 'global/loop1.yaml', message: /more than 8 symlinks in a row/ },
  },
  {
    name: 'a symlink to itself',
    files: { 'global/a.yaml': cm, 'global/self.yaml': { symlink: 'self.yaml' } },
    error: { code: 'file', file: 'global/self.yaml', message: /more than 8 symlinks in a row/ },
  },
  {
    name: 'a symlink that climbs out through a sibling folder',
    files: { 'global/a.yaml': cm, 'global/x.yaml': { symlink: '../regions/../../outside.yaml' } },
    error: {
      code: 'file',
      file: 'global/x.yaml',
      message: /symlink to '\.\.\/regions\/\.\.\/\.\.\/outside\.yaml' leave/,
    },
  },
  badFleetFile(
    'a layer path that climbs out of the repository',
    'layers:\n  - path: ../outside\n',
    4,
    /layer path '\.\.\/outside' must be a relative folde/,
  ),
  badFleetFile(
    'an absolute layer path',
    'layers:\n  - path: /etc\n',
    4,
    /layer path '\/etc' must be a relative folder insi/,
  ),
  {
    name: 'a layer path that climbs out through a label value',
    files: {
      ...web,
      'strata.yaml': fleet('layers:\n  - path: global\n  - path: "regions/{labels.region}/../../.."\n'),
    },
    error: {
      code: 'config',
      file: 'strata.yaml',
      doc: 0,
      line: 5,
      message: /layer path 'regions\/\{labels\.region\}\/\.\.\/\.\.\/\.\.' mu/,
    },
  },
  // strata.yaml
  badFleetFile(
    'strata.yaml that names no layer',
    'layers: []\n',
    3,
    /layers must be a non-empty list of \{ path: TEMPL/,
  ),
  badFleetFile(
    'strata.yaml whose layers are not a list',
    'layers: global\n',
    3,
    /layers must be a non-empty list of \{ path: TEMPL/,
  ),
  badFleetFile(
    'a layer without a path',
    'layers:\n  - name: global\n',
    4,
    /layers\[0\] must be a map with a string 'path'/,
  ),
  badFleetFile(
    'a layer path with an unknown variable',
    'layers:\n  - path: "{cluster.zone}"\n',
    4,
    /unknown variable '\{cluster\.zone\}' in layer path /,
  ),
  {
    name: 'strata.yaml that is not YAML',
    files: { ...web, 'strata.yaml': 'layers: [\n' },
    error: {
      code: 'yaml',
      file: 'strata.yaml',
      doc: 0,
      line: 2,
      column: 1,
      message: /deficient indentation/,
    },
  },
  {
    name: 'strata.yaml of an unknown apiVersion',
    files: { ...web, 'strata.yaml': 'apiVersion: strata.dev/v9\nkind: Fleet\nlayers: [{ path: global }]\n' },
    error: {
      code: 'config',
      file: 'strata.yaml',
      doc: 0,
      line: 1,
      message: /apiVersion must be 'strata\.dev\/v1'/,
    },
  },
  {
    name: 'strata.yaml with two documents',
    files: {
      ...web,
      'strata.yaml': `${fleet('layers: [{ path: global }]\n')}---\n${fleet('layers: [{ path: x }]\n')}`,
    },
    error: {
      code: 'config',
      file: 'strata.yaml',
      doc: 1,
      line: 5,
      message: /strata\.yaml must hold exactly one document/,
    },
  },
  {
    name: 'a strata.yaml whose layers all name missing folders',
    files: { ...web, 'strata.yaml': fleet('layers:\n  - path: nowhere\n') },
    error: {
      code: 'config',
      file: 'strata.yaml',
      doc: 0,
      message: /no layer folder exists for this cluster \(looked /,
    },
  },
  // bombs and sizes
  badDocument('a deeply nested flow sequence', `${cm}data:\n  x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, {
    code: 'yaml',
    line: 6,
    column: 104,
    message: /nesting exceeded maxDepth \(100\)/,
  }),
  {
    name: 'a deeply nested block mapping',
    files: {
      'global/a.yaml': `${cm}data:\n${Array.from({ length: 3000 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} x\n`,
    },
    error: {
      code: 'file',
      file: 'global/a.yaml',
      message: /file is 9022949 bytes, over the 5242880-byte lim/,
    },
  },
  {
    name: 'an alias bomb in flow style inside an object',
    files: {
      'global/a.yaml': `${cm}data:\n  a: &a ["x","x","x","x","x","x","x","x","x","x"]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n  e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
    },
    error: {
      code: 'yaml',
      file: 'global/a.yaml',
      doc: 0,
      line: 9,
      column: 13,
      message: /document contains excessive aliasing; refused/,
    },
  },
  {
    name: 'a merge-key alias bomb',
    files: {
      'global/a.yaml': `a: &a { x1: 1, x2: 2, x3: 3, x4: 4 }\nb: &b { <<: [*a, *a, *a, *a] }\nc: &c { <<: [*b, *b, *b, *b] }\nd: { <<: [*c, *c, *c, *c] }\n`,
    },
    error: {
      code: 'document',
      file: 'global/a.yaml',
      doc: 0,
      line: 1,
      column: 1,
      message: /apiVersion must be a non-empty string \(missing\)/,
    },
  },
  {
    name: 'a file of ten thousand empty documents and one bad one',
    files: { 'global/a.yaml': `${'---\n'.repeat(10000)}apiVersion: v1\n` },
    error: {
      code: 'document',
      file: 'global/a.yaml',
      doc: 9999,
      line: 10001,
      message: /kind must be a non-empty string \(missing\)/,
    },
  },
  {
    name: 'a huge document over the size limit',
    files: {
      'global/a.yaml': cm,
      'global/huge.yaml': `${cm}data:\n${Array.from({ length: 200 }, (_, i) => `  k${i}: "${'y'.repeat(100)}"`).join('\n')}\n`,
    },
    maxFileBytes: 8192,
    error: {
      code: 'file',
      file: 'global/huge.yaml',
      message: /file is 22147 bytes, over the 8192-byte limit; r/,
    },
  },
  {
    name: 'a file with UTF-16 bytes',
    files: { 'global/a.yaml': new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x3a, 0x00]) },
    error: { code: 'file', file: 'global/a.yaml', message: /file is not valid UTF-8/ },
  },
  // selectors
  badDocument(
    'a cluster-selector that is not a string',
    `${cm}  annotations:\n    strata.dev/cluster-selector: 3\n`,
    { code: 'document', line: 6, message: /annotation 'strata\.dev\/cluster-selector' must be/ },
  ),
  badDocument(
    'a cluster-selector with a bad operator',
    `${cm}  annotations:\n    strata.dev/cluster-selector: "env=>prod"\n`,
    { code: 'selector', line: 6, message: /bad label selector: invalid label value '>prod'/ },
  ),
  badDocument(
    'a cluster-selector with a bad set',
    `${cm}  annotations:\n    strata.dev/cluster-selector: "env in (prod"\n`,
    { code: 'selector', line: 6, message: /bad label selector: unbalanced parentheses in 'e/ },
  ),
];
