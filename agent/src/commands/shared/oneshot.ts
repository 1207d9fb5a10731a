import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../../../../contract/usage.js';
import { applySetName } from '../../inventory/applyset.js';
import { KubeApiClient } from '../../kube/client.js';
import { contextNames } from '../../kube/kubeconfig.js';
import type { ClusterIdentity, KubeObject } from '../../model/object.js';
import { formatRenderError, renderCluster } from '../../render/index.js';
import type { RenderTools } from '../../render/tools.js';
import { createRenderTools } from '../../render-tools/index.js';
import type { FileTree } from '../../source/tree.js';
import type { SyncPolicy } from '../../sync/policy.js';
import { openRepo, parseLabels } from './args.js';

let shared: RenderTools | undefined;
/** One kustomize/helm runner (and its cache) for every target of a command. */
export const commandTools = (): RenderTools => (shared ??= createRenderTools({ env: process.env }));

/** One cluster a one-shot `strata plan|apply` works on. */
export interface Target {
  identity: ClusterIdentity;
  kubeconfig?: string;
  context?: string;
}

/** The arguments `strata plan` and `strata apply` share, parsed and checked. */
export interface OneShotArgs {
  repo: string;
  ref?: string;
  targets: Target[];
  format: 'text' | 'json';
  applySetName?: string;
  applySetNamespace: string;
  stateDir?: string;
  policy: Partial<SyncPolicy>;
}

/** The help text of the options `strata plan` and `strata apply` share. */
export const COMMON_HELP = `  --repo DIR                 the fleet repository (a folder, or a Git repository with --ref)
  --ref REF                  use this commit, branch or tag of the Git repository in DIR (no checkout)
  --cluster NAME             the cluster's name (its identity for render)
  --labels K=V,...           the cluster's labels
  --kubeconfig FILE          kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME             kubeconfig context (default: the current one)
  --all-contexts             every context of the kubeconfig, identities from --clusters FILE
  --clusters FILE            YAML: clusters: [{name, labels, context?}] (context defaults to name)
  --format text|json         output format (default text)
  --applyset NAME            ApplySet parent Secret name (default strata-<cluster>)
  --applyset-namespace NS    namespace of the ApplySet parent (default strata-system)
  --state DIR                keep the no-op cache here (skips dry-runs of objects that did not move)
  --no-prune                 never delete ApplySet members the render dropped
  --allow-large-prune        prune even above --prune-max-fraction
  --prune-max-fraction F     largest share of the ApplySet one run may delete (default 0.5)
  --drift correct|report     re-apply objects changed in the cluster, or only report them (default correct)
  --no-force                 do not take over fields other field managers own
  --concurrency N            objects in flight at once (default 16)
  -h, --help                 show this help
`;

function parseNumber(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`${name}: '${raw}' is not a number`);
  return n;
}

interface ClustersFile {
  clusters?: { name?: unknown; labels?: unknown; context?: unknown }[];
}

/** The --clusters file: identities, matched to kubeconfig contexts by `context` or by name. */
async function readClustersFile(file: string): Promise<(ClusterIdentity & { context: string })[]> {
  let doc: ClustersFile;
  try {
    doc = parseYaml(await readFile(file, 'utf8')) as ClustersFile;
  } catch (err) {
    throw new UsageError(`--clusters ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!doc || !Array.isArray(doc.clusters))
    throw new UsageError(`--clusters ${file}: expected a 'clusters' list`);
  return doc.clusters.map((c, i) => {
    if (typeof c?.name !== 'string' || !c.name)
      throw new UsageError(`--clusters ${file}: clusters[${i}].name is required`);
    const labels = (c.labels ?? {}) as Record<string, unknown>;
    if (typeof labels !== 'object' || Array.isArray(labels)) {
      throw new UsageError(`--clusters ${file}: clusters[${i}].labels must be a map`);
    }
    return {
      name: c.name,
      labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
      context: typeof c.context === 'string' ? c.context : c.name,
    };
  });
}

async function targetsFrom(values: Record<string, string | boolean | undefined>): Promise<Target[]> {
  const kubeconfig = values.kubeconfig as string | undefined;
  if (values['all-contexts']) {
    if (!values.clusters)
      throw new UsageError('--all-contexts needs --clusters FILE for each context identity');
    const identities = await readClustersFile(values.clusters as string);
    let contexts: string[];
    try {
      contexts = contextNames(kubeconfig);
    } catch (err) {
      throw new UsageError((err as Error).message, { cause: err });
    }
    return contexts.map((ctx) => {
      const id = identities.find((c) => c.context === ctx);
      if (!id) throw new UsageError(`--clusters: no identity for kubeconfig context '${ctx}'`);
      return {
        identity: { name: id.name, labels: id.labels },
        context: ctx,
        ...(kubeconfig ? { kubeconfig } : {}),
      };
    });
  }
  if (!values.cluster) throw new UsageError('--cluster NAME is required');
  const target: Target = {
    identity: { name: values.cluster as string, labels: parseLabels((values.labels as string) ?? '') },
  };
  if (kubeconfig) target.kubeconfig = kubeconfig;
  if (values.context) target.context = values.context as string;
  return [target];
}

/** Parses the options `strata plan` and `strata apply` share; 'help' when help was asked for. */
export async function parseOneShotArgs(argv: string[]): Promise<OneShotArgs | 'help'> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        repo: { type: 'string' },
        ref: { type: 'string' },
        cluster: { type: 'string' },
        labels: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'all-contexts': { type: 'boolean' },
        clusters: { type: 'string' },
        format: { type: 'string', default: 'text' },
        applyset: { type: 'string' },
        'applyset-namespace': { type: 'string', default: 'strata-system' },
        state: { type: 'string' },
        'no-prune': { type: 'boolean' },
        'allow-large-prune': { type: 'boolean' },
        'prune-max-fraction': { type: 'string' },
        drift: { type: 'string', default: 'correct' },
        'no-force': { type: 'boolean' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return 'help';
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (!values.repo) throw new UsageError('--repo DIR is required');
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError('--format must be text or json');
  if (values.drift !== 'correct' && values.drift !== 'report')
    throw new UsageError('--drift must be correct or report');
  const fraction = parseNumber('--prune-max-fraction', values['prune-max-fraction'] as string | undefined);
  if (fraction !== undefined && (fraction < 0 || fraction > 1))
    throw new UsageError('--prune-max-fraction must be between 0 and 1');
  const concurrency = parseNumber('--concurrency', values.concurrency as string | undefined);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new UsageError('--concurrency must be a positive integer');
  }
  const policy: Partial<SyncPolicy> = {
    drift: values.drift,
    prune: !values['no-prune'],
    allowLargePrune: Boolean(values['allow-large-prune']),
    force: !values['no-force'],
    ...(fraction !== undefined ? { pruneMaxFraction: fraction } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
  const args: OneShotArgs = {
    repo: values.repo as string,
    targets: await targetsFrom(values),
    format: values.format,
    applySetNamespace: values['applyset-namespace'] as string,
    policy,
  };
  if (values.ref) args.ref = values.ref as string;
  if (values.applyset) {
    if (args.targets.length > 1)
      throw new UsageError('--applyset names one ApplySet; leave it out with --all-contexts');
    args.applySetName = values.applyset as string;
  }
  if (values.state) args.stateDir = values.state as string;
  return args;
}

/** The render for one identity: its objects, or the render errors formatted for people. */
export async function renderTarget(
  tree: FileTree,
  identity: ClusterIdentity,
  tools: RenderTools = commandTools(),
): Promise<{ ok: true; objects: KubeObject[] } | { ok: false; errors: string[] }> {
  const result = await renderCluster(tree, identity, { tools });
  if (!result.ok) return { ok: false, errors: result.errors.map(formatRenderError) };
  return { ok: true, objects: result.objects.map((o) => o.object) };
}

/** A Kubernetes client for one target cluster, from its kubeconfig and context. */
export function connect(target: Target): KubeApiClient {
  return KubeApiClient.connect({
    ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
    ...(target.context ? { context: target.context } : {}),
  });
}

/** The ApplySet a one-shot command uses for a target: `--applyset` or the agent's default name. */
export function applySetFor(args: OneShotArgs, target: Target): { name: string; namespace: string } {
  return { name: args.applySetName ?? applySetName(target.identity.name), namespace: args.applySetNamespace };
}

/** A one-shot verb's heading for a target: its cluster, and its kubeconfig context when it names one. */
export function targetTitle(target: Target): string {
  return `Cluster ${target.identity.name}${target.context ? ` (context ${target.context})` : ''}`;
}

/** What `strata plan` and `strata apply` hand their engine for one target: the cluster and what to put in it. */
export interface TargetInput {
  client: KubeApiClient;
  objects: KubeObject[];
  applySet: { name: string; namespace: string };
  policy: Partial<SyncPolicy>;
  stateDir?: string;
}

/** A one-shot verb's part in `runOnTarget`: the outcome of each way one target can end. */
export interface TargetWork<R> {
  /** The render failed: nothing reached the cluster. */
  renderFailed(errors: string[]): R;
  /** Runs the verb's engine on the rendered objects, against the connected cluster. */
  run(input: TargetInput): Promise<R>;
  /** Connecting or the engine threw: its message. */
  failed(message: string): R;
}

/**
 * Renders one target, connects to its cluster and runs the verb's engine there; a render failure
 * never connects, and the client is closed however the run ends.
 */
export async function runOnTarget<R>(
  args: OneShotArgs,
  tree: FileTree,
  target: Target,
  work: TargetWork<R>,
): Promise<R> {
  const rendered = await renderTarget(tree, target.identity);
  if (!rendered.ok) return work.renderFailed(rendered.errors);
  let client: KubeApiClient | undefined;
  try {
    client = connect(target);
    return await work.run({
      client,
      objects: rendered.objects,
      applySet: applySetFor(args, target),
      policy: args.policy,
      ...(args.stateDir ? { stateDir: args.stateDir } : {}),
    });
  } catch (err) {
    return work.failed((err as Error).message);
  } finally {
    client?.close();
  }
}

/**
 * Parses a one-shot command's arguments and opens its repository. A number is the exit code to
 * return at once: 0 after printing the help, 2 after a usage error.
 */
export async function startOneShot(
  verb: string,
  argv: string[],
  help: string,
): Promise<{ args: OneShotArgs; tree: FileTree } | number> {
  try {
    const args = await parseOneShotArgs(argv);
    if (args === 'help') {
      process.stdout.write(help);
      return 0;
    }
    return { args, tree: await openRepo(args.repo, args.ref) };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`strata ${verb}: ${err.message}\n\n${help}`);
    return 2;
  }
}

/** The one-shot results as JSON on stdout: the one cluster's object, or `{ clusters: [...] }` for several. */
export function writeJsonResults(results: readonly { json: unknown }[]): void {
  const body = results.length === 1 ? results[0]!.json : { clusters: results.map((r) => r.json) };
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}
