// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { describe, expect, it } from 'vitest';
import { formatRenderError, type RenderError } from '../../../agent/src/render/index.js';
import { deployment, type RepoFile, renderFiles } from './helpers.js';

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
const web = { 'global/web.yaml': deployment };
const patch = (body: string) => `apiVersion: strata.dev/v1\nkind: Patch\n${body}`;

interface BadCase {
  name: string;
  files: Record<string, RepoFile>;
  /** The error that must be reported: its code and exact location. */
  error: Partial<Pick<RenderError, 'code' | 'file' | 'doc' | 'line' | 'column' | 'object'>> & {
    message: RegExp;
    patch?: { op: string; path?: string };
  };
  maxFileBytes?: number;
}

const cases: BadCase[] = [
  {
    name: 'malformed YAML (bad indentation)',
    files: { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   namespace: b\n' },
    error: { code: 'yaml', file: 'global/a.yaml', doc: 0, line: 5, column: 13, message: /bad indentation/ },
  },
  {
    name: 'unterminated quoted string',
    files: { 'global/a.yaml': `${cm}data:\n  x: "open\n` },
    error: { code: 'yaml', file: 'global/a.yaml', doc: 0, line: 7, message: /deficient indentation/ },
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
  {
    name: 'missing kind',
    files: { 'global/a.yaml': 'apiVersion: v1\nmetadata:\n  name: a\n' },
    error: {
      code: 'document',
      file: 'global/a.yaml',
      doc: 0,
      line: 1,
      message: /kind must be a non-empty string \(missing\)/,
    },
  },
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
  {
    name: 'a label value that is not a string',
    files: { 'global/a.yaml': `${cm}  labels:\n    replicas: 3\n` },
    error: {
      code: 'document',
      file: 'global/a.yaml',
      doc: 0,
      line: 6,
      message: /label 'replicas' must be a string/,
    },
  },
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
  {
    name: 'jsonPatch on a missing path',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\njsonPatch:\n  - { op: add, path: /spec/replicas, value: 1 }\n  - { op: replace, path: /spec/strategy/type, value: Recreate }\n',
      ),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 6,
      object: 'apps/Deployment/shop/web',
      patch: { op: 'jsonPatch[1] replace', path: '/spec/strategy/type' },
      message: /path does not exist/,
    },
  },
  {
    name: 'jsonPatch test operation that fails',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\njsonPatch:\n  - { op: test, path: /spec/replicas, value: 9 }\n',
      ),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 5,
      patch: { op: 'jsonPatch[0] test', path: '/spec/replicas' },
      message: /test/,
    },
  },
  {
    name: 'jsonPatch with an unknown operation',
    files: {
      ...web,
      'global/p.yaml': patch('target: { kind: Deployment }\njsonPatch:\n  - { op: bogus, path: /a }\n'),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 5,
      patch: { op: 'jsonPatch[0] bogus', path: '/a' },
      message: /./,
    },
  },
  {
    name: 'merge with a keyed list item lacking its key',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\nmerge:\n  spec:\n    template:\n      spec:\n        containers:\n          - image: x:1\n',
      ),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 9,
      column: 13,
      patch: { op: 'merge' },
      message: /no merge key 'name'/,
    },
  },
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
  {
    name: 'an image override no container uses',
    files: {
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\nimages:\n  - name: registry.example.com/wbe\n    newTag: "2"\n',
      ),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 5,
      patch: { op: 'images[0]' },
      message: /no container in the target uses image/,
    },
  },
  {
    name: 'a patch that renames its target',
    files: {
      ...web,
      'global/p.yaml': patch('target: { kind: Deployment }\nmerge:\n  metadata: { name: other }\n'),
    },
    error: {
      code: 'patch',
      file: 'global/p.yaml',
      line: 5,
      object: 'apps/Deployment/shop/web',
      message: /cannot change/,
    },
  },
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
];

describe('bad input', () => {
  it('has at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)(
    '$name: reported at its exact place, nothing rendered',
    async ({ files, error, maxFileBytes }) => {
      const result = await renderFiles(files, undefined, maxFileBytes);
      expect(result.ok).toBe(false);
      expect(result).not.toHaveProperty('objects');
      if (result.ok) return;
      const { message, ...where } = error;
      const found = result.errors.find((e) =>
        Object.entries(where).every(
          ([k, v]) => JSON.stringify(e[k as keyof RenderError]) === JSON.stringify(v),
        ),
      );
      expect(found, `errors were:\n${result.errors.map(formatRenderError).join('\n')}`).toBeDefined();
      expect(found!.message).toMatch(message);
    },
  );

  it('lists every error of a cluster, not just the first', async () => {
    const result = await renderFiles({
      'global/a.yaml': 'apiVersion: v1\nmetadata: { name: a }\n',
      'global/b.yaml': `${cm}data:\n  x: "\${cluster.nope}"\n`,
      'regions/cn-hangzhou/p.yaml': patch('target: { kind: Deployment }\nmerge: {}\n'),
    });
    if (result.ok) throw new Error('expected a failed render');
    expect(result.errors.map((e) => `${e.file}:${e.line}:${e.code}`)).toEqual([
      'global/a.yaml:1:document',
      'global/b.yaml:6:variable',
      'regions/cn-hangzhou/p.yaml:3:target',
    ]);
  });

  it('formats an error with file, line, column, document, object and patch operation', async () => {
    const result = await renderFiles({
      ...web,
      'global/p.yaml': patch(
        'target: { kind: Deployment }\njsonPatch:\n  - { op: remove, path: /spec/nope }\n',
      ),
    });
    if (result.ok) throw new Error('expected a failed render');
    expect(formatRenderError(result.errors[0]!)).toBe(
      'global/p.yaml:5:5 (doc 0): apps/Deployment/shop/web: jsonPatch[0] remove /spec/nope: path does not exist in the object',
    );
  });
});
