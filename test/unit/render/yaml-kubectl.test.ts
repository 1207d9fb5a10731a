import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseYamlFile } from '../../../agent/src/render/documents.js';

/**
 * Strata's YAML reading against kubectl's own: each case is a custom resource (so no schema
 * changes a value), and the oracle is what `kubectl patch --local -f FILE --type merge -p '{}'
 * -o json` prints for it, computed here with the real kubectl (it reads the file exactly as
 * `kubectl apply -f` does, through sigs.k8s.io/yaml, without needing a cluster).
 */
const cases: [name: string, body: string][] = [
  ['octal 0644', 'v: 0644'],
  ['octal 0o17', 'v: 0o17'],
  ['hex', 'v: 0x1F'],
  ['binary', 'v: 0b101'],
  ['underscores', 'v: 1_000'],
  ['plus sign', 'v: +12'],
  ['negative octal', 'v: -0644'],
  ['08 is a float', 'v: 08'],
  ['exponent', 'v: 1e3'],
  ['leading dot', 'v: .5'],
  ['1.0', 'v: 1.0'],
  ['small exponent', 'v: 0.1e-2'],
  ['yes', 'v: yes'],
  ['Yes', 'v: Yes'],
  ['YES', 'v: YES'],
  ['no', 'v: no'],
  ['on', 'v: on'],
  ['off', 'v: off'],
  ['y', 'v: y'],
  ['n', 'v: n'],
  ['True', 'v: True'],
  ['tilde', 'v: ~'],
  ['Null', 'v: Null'],
  ['empty', 'v:'],
  ['a date stays text', 'v: 2001-12-14'],
  ['a timestamp stays text', 'v: 2001-12-14T21:59:43.10-05:00'],
  ['sexagesimal stays text', 'v: 1:20'],
  ['quoted octal', 'v: "0644"'],
  ['quoted yes', "v: 'yes'"],
  ['!!str', 'v: !!str 12'],
  ['!!float', 'v: !!float 1'],
  ['!!int of quoted', 'v: !!int "12"'],
  ['text after a number', 'v: 12abc'],
  ['block scalar', 'v: |\n  line one\n  line two\n'],
  ['folded scalar', 'v: >\n  one\n  two\n'],
  ['key y', 'v:\n  y: 1\n  n: 2\n'],
  ['key on', 'v:\n  on: push\n'],
  ['numeric keys', 'v:\n  0644: a\n  1.5: b\n  true: c\n'],
  ['merge key', 'base: &b {x: 1, y: 2}\nv:\n  <<: *b\n  y: 9\n'],
  ['merge overrides earlier keys', 'base: &b {x: 1}\nv:\n  x: 0\n  <<: *b\n'],
  ['merge list: earlier maps win', 'a: &a {k: a}\nb: &b {k: b, j: b}\nv:\n  <<: [*a, *b]\n'],
  ['aliases in a list', 'e: &e {name: X, value: "1"}\nv: [*e, *e]\n'],
  ['defaultMode in a volume', 'v:\n  volumes:\n  - name: c\n    configMap: {name: c, defaultMode: 0444}\n'],
];

const work = mkdtempSync(join(tmpdir(), 'strata-yaml-kubectl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function kubectlReads(text: string): unknown {
  const file = join(work, 'case.yaml');
  writeFileSync(file, text);
  const out = execFileSync(
    'kubectl',
    [
      'patch',
      '--local',
      '-f',
      file,
      '--type',
      'merge',
      '-p',
      '{}',
      '-o',
      'json',
      '--kubeconfig',
      '/dev/null',
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out);
}

describe('YAML read as kubectl reads it (oracle: the real kubectl)', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('%s', (_name, body) => {
    const text = `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n${body}\n`;
    const { docs, errors } = parseYamlFile('case.yaml', text);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(docs.map((d) => d.value)).toEqual([kubectlReads(text)]);
  });
});
