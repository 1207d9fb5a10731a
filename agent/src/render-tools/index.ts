import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RenderTools } from '../render/tools.js';
import { findToolBinaries } from './binaries.js';
import { type ChartCredential, createChartStore } from './charts.js';
import { type CountingToolRunner, createToolRunner, type ToolBinaries } from './runner.js';

export { findToolBinaries } from './binaries.js';
export { type ChartCredential, createChartStore } from './charts.js';
export { DEFAULT_TOOL_LIMITS, type ToolLimits } from './run.js';
export { type CountingToolRunner, createToolRunner, type ToolBinaries } from './runner.js';

/** What the agent's render tools need: binaries, cache folder, chart credentials and limits. */
export interface RenderToolsOptions {
  /** Explicit binaries (flags, configuration); the rest from STRATA_KUSTOMIZE/STRATA_HELM or PATH. */
  binaries?: ToolBinaries;
  env: Record<string, string | undefined>;
  /** The agent's state directory: outputs cached under `render-cache/`, working copies under `tool-work/`. */
  stateDir?: string;
  /** Credentials for chart repositories and registries (the agent's `render.chartCredentials`). */
  chartCredentials?: readonly ChartCredential[];
  log?: Logger;
}

/** The real tools for a command or the agent: one runner (and its cache) per process. */
export function createRenderTools(options: RenderToolsOptions): RenderTools & { runner: CountingToolRunner } {
  const runner = createToolRunner({
    binaries: findToolBinaries(options.binaries ?? {}, options.env),
    ...(options.stateDir
      ? { cacheDir: join(options.stateDir, 'render-cache'), workDir: join(options.stateDir, 'tool-work') }
      : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const cacheHome = options.env.XDG_CACHE_HOME ?? join(options.env.HOME ?? tmpdir(), '.cache');
  const charts = createChartStore({
    dir: options.stateDir ? join(options.stateDir, 'charts') : join(cacheHome, 'strata', 'charts'),
    credentials: options.chartCredentials ?? [],
  });
  return { runner, charts };
}
