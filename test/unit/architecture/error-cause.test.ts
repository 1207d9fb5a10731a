import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../agent/src/config/load.js';
import { KubeconfigError, readKubeconfig } from '../../../agent/src/kube/kubeconfig.js';
import { parseSelector, SelectorSyntaxError } from '../../../contract/selector.js';
import { HttpError, parseJson } from '../../../hub/src/api/http.js';

/** The error a call throws (the call must throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}

describe('an error that wraps another keeps it as its cause', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-cause-'));

  it('config: an unreadable file keeps the file system error', async () => {
    const err = await loadConfig({ argv: ['--config', path.join(dir, 'missing.yaml')], env: {} }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error & { cause?: NodeJS.ErrnoException }).cause?.code).toBe('ENOENT');
  });

  it('config: invalid YAML keeps the parser error', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'a: [1,\n');
    const err = await loadConfig({ argv: ['--config', file], env: {} }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('kubeconfig: an unreadable file keeps the file system error', () => {
    const err = thrown(() => readKubeconfig(path.join(dir, 'no-kubeconfig')));
    expect(err).toBeInstanceOf(KubeconfigError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('hub: a body that is not JSON keeps the SyntaxError', () => {
    const err = thrown(() => parseJson('{'));
    expect(err).toBeInstanceOf(HttpError);
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it('selector: a bad label value keeps the label error', () => {
    const err = thrown(() => parseSelector('app=bad value!'));
    expect(err).toBeInstanceOf(SelectorSyntaxError);
    expect(err.cause).toBeInstanceOf(Error);
  });
});
