/**
 * The fast reader for plain block YAML (agent/src/render/yaml/plain-block.ts) against the full
 * reader (js-yaml's events read as kubectl reads them): over every YAML file of the repository,
 * the hostile corpus, the benchmark's vendor manifest and seeded generated files (valid ones and
 * mutated ones), both must give the same documents, values, indexes and root positions, and the
 * fast reader must give up on every file the full reader refuses. Seed: STRATA_YAML_SEED.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYamlFile } from '../../../agent/src/render/documents.js';
import { readPlainBlockYaml } from '../../../agent/src/render/yaml/plain-block.js';
import { vendorManifest } from '../../../bench/lib/vendor-manifest.js';
import { HOSTILE_CASES } from '../../support/hostile-repos.js';

const ROOT = join(import.meta.dirname, '../../..');

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'bin' || name.startsWith('.')) continue;
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) yamlFiles(path, out);
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

/** What a reader made of a file, in a form two readers can be compared by. */
function reading(text: string, reader: 'auto' | 'full') {
  const { docs, errors } = parseYamlFile('f.yaml', text, { reader });
  return {
    docs: docs.map((d) => ({ index: d.index, value: d.value, root: d.locate([]) })),
    errors: errors.map((e) => `${e.doc}:${e.line}:${e.column} ${e.message}`),
  };
}

/** Compares the readers on one text; true when the fast reader read it. */
function same(text: string, what: string): boolean {
  const fast = readPlainBlockYaml(text) !== undefined;
  const full = reading(text, 'full');
  if (fast) {
    expect(full.errors, `${what}: the fast reader accepted a file the full reader refuses`).toEqual([]);
    const auto = reading(text, 'auto');
    // Compared as JSON first (also key order), in full only when they differ: a deep equal of
    // thousands of files is slow on a loaded machine.
    if (JSON.stringify(auto) !== JSON.stringify(full)) expect(auto, what).toEqual(full);
    expect(JSON.stringify(auto), what).toBe(JSON.stringify(full));
  }
  return fast;
}

/** A small seeded generator (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof random>;

/** Words manifests are made of, and (picked less often) words that test the edges. */
const WORDS = [
  'web',
  'nginx:1.25',
  'http://x.example.com/a?b=c',
  'a b',
  'it is',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'n',
  'true',
  'False',
  '~',
  'null',
  'Null',
  '0644',
  '0o17',
  '0x1F',
  '0b101',
  '1_000',
  '-1',
  '+2',
  '3.5',
  '1e3',
  '.5',
  '09',
  '2026-01-01',
  '12:30',
  '1:2',
  'a:b',
  'a#b',
  '-x',
  '--port=80',
  'é',
  '日本',
  'a,b',
  '[x]',
  '{y}',
  'a]',
  'v1',
  '100m',
  '1.0',
  '0',
  '00',
  '-0',
  '0.0',
  '123456789012345678901',
  '9223372036854775808',
  'x y  z',
  'x\u00a0',
];
const FLOW_WORDS = WORDS.filter((w) => !/[:#,[\]{}]/.test(w));
const ODD = [
  '-.inf',
  '.NaN',
  '.inf',
  '-',
  '*',
  '&a',
  '!t',
  '%p',
  '@x',
  '`c`',
  '?q',
  ':z',
  '<<',
  '|',
  '>',
  '"',
  "'",
  '#',
  'a #b',
  'k: v',
  'end:',
  'nbsp\u00a0',
];
const KEYS = [
  'name',
  'image',
  'app.kubernetes.io/name',
  'a b',
  'yes',
  'no',
  'on',
  '1',
  '0x10',
  '1.5',
  '007',
  'true',
  '__proto__',
  'constructor',
  'x-y',
  'k8s',
  'é',
  'a:b',
  'a#b',
  'k]',
  'spec',
  'metadata',
  'labels',
];
const ODD_KEYS = ['null', '~', '', '<<', '-k', '[k]', '.inf', '? k'];

function plainText(r: Random): string {
  const n = 1 + r.int(3);
  return Array.from({ length: n }, () => r.pick(r.chance(0.03) ? ODD : WORDS)).join(r.pick([' ', '', '  ']));
}

function escapeDouble(text: string, r: Random): string {
  let out = '';
  for (const c of text) {
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (r.chance(0.05)) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += c;
  }
  if (r.chance(0.1))
    out += r.pick([
      '\\t',
      '\\/',
      '\\x41',
      '\\e',
      '\\0',
      '\\N',
      '\\_',
      '\\ ',
      '\\U0001F600',
      '\\u00e9',
      '\\"',
    ]);
  return out;
}

/** A scalar written on the line of its key or dash (and maybe the lines after, more indented). */
function scalar(r: Random, indent: number, step: number): string[] {
  const pad = ' '.repeat(indent + step);
  const text = plainText(r);
  switch (r.int(9)) {
    case 0:
    case 1:
    case 2:
      return [text + (r.chance(0.15) ? ` # ${plainText(r)}` : '')];
    case 3:
      return [`'${text.replaceAll("'", "''")}'${r.chance(0.1) ? ' # c' : ''}`];
    case 4:
      return [`"${escapeDouble(text, r)}"`];
    case 5: {
      // A plain or quoted scalar over several lines.
      const quote = r.pick(['', "'", '"']);
      const lines = [quote + r.pick(WORDS)];
      for (let i = r.int(4); i >= 0; i--) {
        if (r.chance(0.2)) lines.push(r.chance(0.5) ? '' : ' '.repeat(r.int(indent + 4)));
        lines.push(' '.repeat(indent + r.int(step + 2)) + r.pick(WORDS) + (r.chance(0.1) ? ' ' : ''));
      }
      lines[lines.length - 1] += quote;
      return lines;
    }
    default: {
      const header = r.pick([
        '|',
        '|-',
        '|+',
        '>',
        '>-',
        '>+',
        '|',
        '|-',
        '>',
        '| # c',
        '|-  ',
        r.pick(['|2', '>#x', '|1-']),
      ]);
      const lines = [header];
      for (let i = r.int(5); i >= 0; i--) {
        if (r.chance(0.2)) lines.push(r.chance(0.7) ? '' : ' '.repeat(r.int(indent + step + 3)));
        lines.push(pad + (r.chance(0.05) ? ' '.repeat(1 + r.int(2)) : '') + plainText(r));
      }
      if (r.chance(0.3)) lines.push('');
      return lines;
    }
  }
}

function key(r: Random): string {
  const k = r.pick(r.chance(0.03) ? ODD_KEYS : KEYS);
  if (r.chance(0.15)) return `"${escapeDouble(k, r)}"`;
  if (r.chance(0.1)) return `'${k.replaceAll("'", "''")}'`;
  return k;
}

function flow(r: Random): string {
  if (r.chance(0.3)) return r.pick(['[]', '{}', '[ ]', '{ }']);
  const n = 1 + r.int(4);
  const words = r.chance(0.1) ? WORDS : FLOW_WORDS;
  const item = () => (r.chance(0.3) ? `"${escapeDouble(r.pick(WORDS), r)}"` : r.pick(words));
  if (r.chance(0.5)) return `[${Array.from({ length: n }, item).join(r.pick([', ', ',', ' , ']))}]`;
  return `{${Array.from({ length: n }, () => `${key(r)}: ${item()}`).join(', ')}}`;
}

/** A block collection at `indent`, as lines. */
function collection(r: Random, indent: number, step: number, depth: number): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  const isList = r.chance(0.35);
  const entries = 1 + r.int(4);
  for (let i = 0; i < entries; i++) {
    if (r.chance(0.1)) lines.push(`${' '.repeat(r.int(indent + 3))}# ${plainText(r)}`);
    if (r.chance(0.08)) lines.push('');
    const head = isList
      ? `${pad}-${r.pick([' ', ' ', '  '])}`
      : `${pad}${key(r)}:${r.chance(0.05) ? '  ' : ' '}`;
    const kind = depth > 3 ? r.int(2) : r.int(5);
    if (kind === 0) {
      const [first, ...rest] = scalar(r, indent, step);
      lines.push(head + first, ...rest);
    } else if (kind === 1) lines.push(head + flow(r));
    else if (kind === 2 && isList) {
      // A map that starts on the dash's line.
      const inner = collection(r, indent + head.length - pad.length, step, depth + 1);
      const first = inner[0]!.trimStart();
      lines.push(head + first, ...inner.slice(1));
    } else {
      // A collection on the lines after: a list may stand at its key's own column.
      const at = !isList && r.chance(0.4) ? indent : indent + step;
      const inner = collection(r, at, step, depth + 1);
      if (at === indent && !inner[0]!.trimStart().startsWith('-')) {
        lines.push(head.trimEnd(), ...collection(r, indent + step, step, depth + 1));
      } else lines.push(head.trimEnd() + (r.chance(0.1) ? ' # c' : ''), ...inner);
    }
  }
  return lines;
}

/** A file of one to three documents. */
function file(r: Random): string {
  const step = 1 + r.int(4);
  const docs = Array.from({ length: 1 + r.int(3) }, () =>
    r.chance(0.05) ? ['# only a comment'] : collection(r, r.chance(0.05) ? 2 : 0, step, 0),
  );
  let text =
    (r.chance(0.3) ? '---\n' : '') + docs.map((d) => d.join('\n')).join(r.pick(['\n---\n', '\n--- # d\n']));
  if (r.chance(0.9)) text += '\n';
  if (r.chance(0.1)) text += '---\n';
  return text;
}

/** One scalar in one of the places scalars stand: a map value, a list item, a map in a list. */
function scalarFile(r: Random): string {
  const step = 1 + r.int(3);
  const indent = r.pick([0, 0, 2, 4]);
  const [first, ...rest] = scalar(r, indent, step);
  const pad = ' '.repeat(indent);
  const head = r.pick([`${pad}k: `, `${pad}- `, `${pad}- k: `, `${pad}-   k: `]);
  const outer = indent > 0 ? ['outer:'] : [];
  return `${[
    ...outer,
    head + first,
    ...rest,
    ...(r.chance(0.5) ? [`${pad}${head.startsWith(`${pad}-`) ? '- ' : ''}z: 1`] : []),
  ].join('\n')}\n`;
}

const MUTATIONS = [
  ' ',
  '  ',
  '-',
  '- ',
  ':',
  ': ',
  '#',
  ' #',
  "'",
  '"',
  '|',
  '>',
  '[',
  ']',
  '{',
  '}',
  ',',
  '\n',
  '&a ',
  '*a',
  '!!str ',
  '? ',
  '\t',
  '\\',
  '---\n',
  '...\n',
  '<<: ',
];

/** The text with a few random edits: characters inserted or removed, lines re-indented or repeated. */
function mutate(text: string, r: Random): string {
  let out = text;
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(out.length + 1);
    switch (r.int(4)) {
      case 0:
        out = out.slice(0, at) + r.pick(MUTATIONS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + r.int(3));
        break;
      case 2: {
        const start = out.lastIndexOf('\n', at - 1) + 1;
        out = out.slice(0, start) + (r.chance(0.5) ? ' ' : '') + out.slice(start + (r.chance(0.5) ? 1 : 0));
        break;
      }
      default: {
        const lines = out.split('\n');
        const i = r.int(lines.length);
        lines.splice(i, 0, lines[i]!);
        out = lines.join('\n');
      }
    }
  }
  return out;
}

describe('the fast reader for plain block YAML', () => {
  it('reads every YAML file of the repository, the hostile corpus and the vendor manifest as the full reader does', () => {
    const texts: [string, string][] = [];
    for (const dir of ['examples', 'test', 'bench', 'docs']) {
      const path = join(ROOT, dir);
      if (!statSync(path, { throwIfNoEntry: false })) continue;
      for (const f of yamlFiles(path)) texts.push([relative(ROOT, f), readFileSync(f, 'utf8')]);
    }
    for (const c of HOSTILE_CASES) {
      for (const [name, body] of Object.entries(c.files)) {
        if (typeof body === 'string') texts.push([`hostile ${c.name}: ${name}`, body]);
      }
    }
    texts.push(['vendor manifest', vendorManifest()]);
    const readFast = texts.filter(([what, text]) => same(text, what)).map(([what]) => what);
    // The speed depends on the fast reader taking the manifests people write.
    expect(readFast).toContain('vendor manifest');
    expect(readFast).toEqual(expect.arrayContaining(['examples/fleet/global/shop/web.yaml']));
    expect(readFast.length).toBeGreaterThan(texts.length / 2);
  });

  it('reads generated and mutated files as the full reader does (seeded)', () => {
    const seed = Number(process.env.STRATA_YAML_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = random(seed);
    let fast = 0;
    let mutatedFast = 0;
    let scalars = 0;
    for (let i = 0; i < 1000; i++) {
      const text = file(r);
      if (same(text, `generated file ${i}, seed ${seed}: ${JSON.stringify(text)}`)) fast++;
      const one = scalarFile(r);
      if (same(one, `scalar file ${i}, seed ${seed}: ${JSON.stringify(one)}`)) scalars++;
      for (let m = 0; m < 3; m++) {
        const mutated = mutate(text, r);
        if (same(mutated, `mutated file ${i}.${m}, seed ${seed}: ${JSON.stringify(mutated)}`)) mutatedFast++;
      }
    }
    // Both halves must exercise the fast reader, or they compare nothing.
    console.log(
      `seed ${seed}: ${fast} generated, ${scalars} scalar and ${mutatedFast} mutated files read fast`,
    );
    expect(fast, `seed ${seed}`).toBeGreaterThan(80);
    expect(mutatedFast, `seed ${seed}`).toBeGreaterThan(100);
    expect(scalars, `seed ${seed}`).toBeGreaterThan(350);
  }, 120_000);

  it('gives up on what it does not handle, so that the full reader reads it (and reports its errors)', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      '<<: {a: 1}\n',
      '%YAML 1.1\n---\na: 1\n',
      'a:\n\tb: 1\n',
      'a: 1\r\nb: 2\r\n',
      'a: [1,\n  2]\n',
      'a: |2\n   x\n',
      '? a\n: b\n',
      'a: 1\na: 2\n',
      'a: b: c\n',
      'a: .inf\n',
      'x\n',
    ]) {
      expect(readPlainBlockYaml(text), JSON.stringify(text)).toBeUndefined();
      same(text, JSON.stringify(text));
    }
    const { errors } = parseYamlFile('d.yaml', 'kind: A\nkind: B\n');
    expect(errors.map((e) => [e.file, e.line, e.column, e.message])).toEqual([
      ['d.yaml', 2, 1, "duplicate key 'kind'"],
    ]);
  });
});
