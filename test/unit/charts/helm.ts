/**
 * Runs the real helm CLI (built from the Go module by tools/build.sh, cached in the user's cache
 * folder) on the repository's charts, and parses what it renders.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../../agent/src/model/object.js';
import { TOOL_BUILD_TIMEOUT_MS, toolPath } from '../../support/tools.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export type ChartName = 'strata-agent' | 'strata-hub';

/** A cold build takes minutes (it compiles helm and much of client-go); later calls are instant. */
export const HELM_BUILD_TIMEOUT_MS = TOOL_BUILD_TIMEOUT_MS;

/** Path of the helm binary, building it on first use. */
export function helmBinary(): string {
  return toolPath('helm');
}

export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs helm with a values file written from `values`; never throws on helm's own failure. */
export function runHelm(args: string[], values: unknown = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'strata-helm-'));
  try {
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(values));
    const env = {
      ...process.env,
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_DATA_HOME: join(dir, 'data'),
    };
    try {
      const stdout = execFileSync(helmBinary(), [...args, '--values', valuesFile], {
        cwd: REPO,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { ok: true, stdout, stderr: '' };
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      return { ok: false, stdout: stdout ?? '', stderr: stderr ?? String(err) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
}

/** `helm template`: the chart's objects, in helm's order, or throws with helm's message. */
export function renderChart(chart: ChartName, values: unknown, options: RenderOptions = {}): KubeObject[] {
  const result = templateChart(chart, values, options);
  if (!result.ok) throw new Error(`helm template ${chart} failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export function templateChart(chart: ChartName, values: unknown, options: RenderOptions = {}): HelmResult {
  const { release = 'strata', namespace = 'strata-system' } = options;
  return runHelm(['template', release, join('charts', chart), '--namespace', namespace], values);
}

export function lintChart(chart: ChartName, values: unknown): HelmResult {
  return runHelm(['lint', '--strict', join('charts', chart)], values);
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

/** The one object of a kind (and name, if given); throws naming what is there otherwise. */
export function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ');
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length} among: ${have}`);
  }
  return found[0]!;
}
