/**
 * Reads README.md the way a person copies from it: fenced code blocks by language, and the shell
 * commands of the `sh` blocks (one per line; a trailing backslash continues the line).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const README = path.join(ROOT, 'README.md');

export interface CodeBlock {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ lang: open[1] ?? '', text: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** Every command of the `sh` blocks, in order. */
export function shellCommands(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.text.replace(/\\\n\s*/g, '').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function readme(): string {
  return readFileSync(README, 'utf8');
}

/** The YAML block that follows the first mention of `marker` in the README's prose. */
export function yamlBlockAfter(markdown: string, marker: string): string {
  const at = markdown.indexOf(marker);
  if (at < 0) throw new Error(`README.md does not mention ${marker}`);
  const block = codeBlocks(markdown.slice(at)).find((b) => b.lang === 'yaml');
  if (!block) throw new Error(`README.md has no yaml block after ${marker}`);
  return block.text;
}
