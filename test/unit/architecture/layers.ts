/**
 * The declared layering of the product code (ARCHITECTURE.md), and the check that every import
 * follows it. Pure: give it file paths and their source text, get back the imports that break a rule.
 */
import path from 'node:path';

/**
 * Bottom to top. A module may import its own unit (folder or file), the shared contract, and units of
 * a lower rank in its own program; units on one rank are siblings and never import each other.
 */
export const AGENT_LAYERS: string[][] = [
  ['model', 'version.ts', 'log.ts', 'memory.ts', 'persist'],
  ['config'],
  ['source', 'kube', 'health'],
  ['render', 'inventory'],
  ['plan', 'keys', 'render-tools'],
  ['apply'],
  ['prune'],
  ['sync'],
  ['report'],
  ['preview', 'rollout'],
  ['loop'],
  ['server'],
  ['commands'],
  ['cli.ts'],
];

export const HUB_LAYERS: string[][] = [
  ['fleet'],
  ['store'],
  ['api'],
  ['ui'],
  ['server.ts'],
  ['hub.ts'],
  ['cli.ts'],
];

/** The one import from one program into the other: the `strata hub` verb hands over to the hub's entry. */
export const PROGRAM_DOORS: ReadonlyArray<readonly [from: string, to: string]> = [
  ['agent/src/commands/hub.ts', 'hub/src/cli.ts'],
];

export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

interface Place {
  program: 'agent' | 'hub' | 'contract' | 'other';
  unit: string;
}

function placeOf(file: string): Place {
  const parts = file.split('/');
  if (parts[0] === 'contract') return { program: 'contract', unit: 'contract' };
  if ((parts[0] === 'agent' || parts[0] === 'hub') && parts[1] === 'src' && parts[2])
    return { program: parts[0], unit: parts[2] };
  return { program: 'other', unit: file };
}

function rankOf(program: 'agent' | 'hub', unit: string): number {
  const layers = program === 'agent' ? AGENT_LAYERS : HUB_LAYERS;
  return layers.findIndex((rank) => rank.includes(unit));
}

/** Relative import specifiers of a TypeScript source: static, re-exports, side-effect and dynamic. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[\s;{}])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]!);
  return found.filter((s) => s.startsWith('.'));
}

/** Every import in `files` (repository-relative path → source text) that breaks the layering. */
export function layerViolations(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  for (const [file, text] of files) {
    const from = placeOf(file);
    if (from.program === 'other') continue;
    if (from.program !== 'contract' && rankOf(from.program, from.unit) < 0) {
      out.push({ file, specifier: '', rule: `${from.unit} is in no layer of ${from.program}/src` });
      continue;
    }
    for (const specifier of importsOf(text)) {
      const target = path.posix
        .normalize(path.posix.join(path.posix.dirname(file), specifier))
        .replace(/\.js$/, '.ts');
      const rule = broken(file, from, target);
      if (rule) out.push({ file, specifier, rule });
    }
  }
  return out;
}

function broken(file: string, from: Place, target: string): string | undefined {
  const to = placeOf(target);
  if (to.program === 'contract') return undefined;
  if (from.program === 'contract')
    return `the contract imports ${to.program === 'other' ? target : `${to.program} internals`}`;
  if (to.program === 'other') return `imports ${target}, outside the product code`;
  if (to.program !== from.program) {
    if (PROGRAM_DOORS.some(([a, b]) => a === file && b === target)) return undefined;
    return `${from.program} imports ${to.program} internals (${target}); share it through contract/`;
  }
  if (to.unit === from.unit) return undefined;
  const a = rankOf(from.program, from.unit);
  const b = rankOf(to.program, to.unit);
  if (b < 0) return `imports ${to.unit}, which is in no layer`;
  if (b === a) return `${from.unit} imports its sibling ${to.unit} (same layer)`;
  if (b > a) return `${from.unit} (layer ${a}) imports ${to.unit} (layer ${b}), a higher layer`;
  return undefined;
}
