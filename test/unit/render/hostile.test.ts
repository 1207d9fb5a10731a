// biome-ignore-all lint/suspicious/noTemplateCurlyInString: fleet YAML writes ${cluster.…} variables
import { describe, expect, it } from 'vitest';
import { formatRenderError, type RenderError } from '../../../agent/src/render/index.js';
import { HOSTILE_CASES as cases } from '../../support/hostile-repos.js';
import { deployment, renderFiles } from './helpers.js';

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
const web = { 'global/web.yaml': deployment };
const patch = (body: string) => `apiVersion: strata.dev/v1\nkind: Patch\n${body}`;

describe('hostile repositories', () => {
  it('has at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
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
