/**
 * The exported declarations of `agent/src` and `hub/src` that carry no doc comment, read with the
 * TypeScript compiler's API (TypeScript 7: the compiler runs as a separate process behind it).
 */
import path from 'node:path';
import { SyntaxKind } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PROGRAMS = ['agent/src/', 'hub/src/'];

/** One exported declaration without a doc comment: where it is and its name. */
export interface Undocumented {
  file: string;
  line: number;
  name: string;
}

interface Named {
  kind: number;
  pos: number;
  end: number;
  name?: { text?: string };
  modifiers?: readonly { kind: number }[];
  jsDoc?: readonly unknown[];
  declarationList?: { declarations: readonly { name: { text?: string } }[] };
}

function nameOf(st: Named): string {
  if (st.kind === SyntaxKind.VariableStatement)
    return (st.declarationList?.declarations ?? []).map((d) => d.name.text ?? '?').join(', ');
  return st.name?.text ?? 'default';
}

/** Every exported declaration under `programs` (folders of the repository) that has no `/** … *\/` comment. */
export function undocumentedExports(
  tsconfig = path.join(ROOT, 'tsconfig.build.json'),
  programs = PROGRAMS,
): Undocumented[] {
  const api = new API({ cwd: ROOT });
  try {
    const project = api.updateSnapshot({ openProjects: [tsconfig] }).getProjects()[0];
    if (!project) throw new Error(`${tsconfig}: no project`);
    const out: Undocumented[] = [];
    for (const file of project.program.getSourceFileNames()) {
      const rel = path.relative(ROOT, file);
      if (!programs.some((p) => rel.startsWith(p)) || rel.endsWith('.d.ts')) continue;
      const source = project.program.getSourceFile(file);
      if (!source) continue;
      const text = source.text;
      for (const st of source.statements as unknown as Named[]) {
        if (!st.modifiers?.some((m) => m.kind === SyntaxKind.ExportKeyword)) continue;
        if (st.jsDoc && st.jsDoc.length > 0) continue;
        const start = text.slice(st.pos, st.end).search(/\S/) + st.pos;
        out.push({ file: rel, line: text.slice(0, start).split('\n').length, name: nameOf(st) });
      }
    }
    return out;
  } finally {
    api.close();
  }
}
