/** A small Dockerfile reader for the tests: enough to check and replay the instructions we write. */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** Joins continuation lines, drops comments and blank lines, and splits the file into stages. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of readInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/);
      if (!image) throw new Error(`Dockerfile line ${instruction.line}: FROM without an image`);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
    stage.instructions.push(instruction);
  }
  return stages;
}

function readInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(whole);
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: startLine });
  });
  return instructions;
}

/** The shell commands of a shell-form RUN, split on `&&`. */
export function runCommands(instruction: Instruction): string[] {
  return instruction.args
    .split('&&')
    .map((c) => c.replace(/\s+/g, ' ').trim())
    .filter((c) => c !== '');
}

/** A COPY instruction in shell form (`COPY [--from=x] src... dest`) or JSON form. */
export function parseCopy(instruction: Instruction): Copy {
  let words: string[];
  if (instruction.args.trimStart().startsWith('[')) {
    words = JSON.parse(instruction.args) as string[];
  } else {
    words = instruction.args.split(/\s+/).filter((w) => w !== '');
  }
  let from: string | undefined;
  const rest: string[] = [];
  for (const word of words) {
    if (word.startsWith('--from=')) from = word.slice('--from='.length);
    else if (!word.startsWith('--')) rest.push(word);
  }
  const dest = rest.pop();
  if (!dest || rest.length === 0)
    throw new Error(`Dockerfile line ${instruction.line}: COPY needs a source and a destination`);
  return { from, sources: rest, dest };
}

/** JSON (exec) form of ENTRYPOINT or CMD, or undefined for the shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  const args = instruction.args.trim();
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : undefined;
}

/** Whether .dockerignore patterns exclude a path (plain paths, their children, and `*` globs). */
export function isIgnored(path: string, dockerignore: string): boolean {
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '');
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'));
  return patterns.some((pattern) => {
    const p = pattern.replace(/^\.?\//, '').replace(/\/$/, '');
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    return re.test(clean) || (!p.includes('/') && re.test(clean.split('/').at(-1) ?? ''));
  });
}

/** The environment a stage's ENV lines set (`ENV KEY=value …`, or the old `ENV KEY value`). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    const text = args.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) {
      const [key, ...rest] = text.split(/\s+/);
      if (key) env[key] = rest.join(' ');
      continue;
    }
    for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) env[m[1]!] = m[3] ?? m[2]!;
  }
  return env;
}
