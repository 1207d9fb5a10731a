import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { UsageError } from '../../../contract/usage.js';
import type { ClusterIdentity } from '../model/object.js';
import {
  ClusterListError,
  fetchHubCapabilities,
  fetchHubClusters,
  formatJson,
  formatMarkdown,
  type OpenedRef,
  openRefs,
  previewFleet,
  RefError,
  readClustersFile,
} from '../preview/index.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import { subTree } from '../source/subtree.js';
import { commandTools } from './shared/oneshot.js';

const HELP = `Usage: strata preview --repo DIR|URL --base REF --head REF (--clusters FILE | --hub URL) [options]

Shows, for every cluster of the fleet, what merging HEAD into BASE would change: objects created,
changed (field by field) and deleted, and clusters whose render of HEAD fails. Offline: renders
both refs and compares them; nothing is sent to any cluster.

Options:
  --repo DIR|URL         the fleet repository: a local Git repository (work tree or bare) or an
                         http(s) URL, fetched into a temporary cache
  --path DIR             the sub-folder of the repository that holds the fleet layout
  --base REF             the ref the pull request merges into (branch, tag, ref or commit)
  --head REF             the pull request's head (e.g. refs/pull/7/head)
  --clusters FILE        cluster identities: YAML 'clusters: [{name, labels}]'
  --hub URL              or take the identities of every cluster that reported to this hub
  --hub-token-file F     the hub's read token, if it has one
  --git-token-file F     bearer token for an http(s) repository
  --format markdown|json output format (default markdown, fit for a pull-request comment)
  --max-chars N          cap the Markdown at N characters (default 60000)
  --out FILE             write the preview to FILE instead of standard output
  --kube-version V       the Kubernetes version HelmChart documents render for (default: with
                         --hub, each cluster's from its latest report; else helm's)
  --api-versions L       comma-separated API versions charts may test for (.Capabilities.APIVersions;
                         default: with --hub, each cluster's from its latest report)
  -h, --help             show this help

Exit codes: 0 preview written (also when a cluster fails to render: that is part of the preview),
1 a ref or the cluster list could not be read, 2 usage error.
`;

interface PreviewArgs {
  repo: string;
  path: string;
  base: string;
  head: string;
  clusters?: string;
  hub?: string;
  hubTokenFile?: string;
  gitTokenFile?: string;
  format: 'markdown' | 'json';
  maxChars?: number;
  out?: string;
  /** For `helm template`, for every cluster: overrides what the hub's reports say. */
  capabilities: ClusterCapabilities;
}

function parse(argv: string[]): PreviewArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      path: { type: 'string', default: '' },
      base: { type: 'string' },
      head: { type: 'string' },
      clusters: { type: 'string' },
      hub: { type: 'string' },
      'hub-token-file': { type: 'string' },
      'git-token-file': { type: 'string' },
      format: { type: 'string', default: 'markdown' },
      'max-chars': { type: 'string' },
      out: { type: 'string' },
      'kube-version': { type: 'string' },
      'api-versions': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  for (const name of ['repo', 'base', 'head'] as const) {
    if (!values[name]) throw new UsageError(`--${name} is required`);
  }
  if (Boolean(values.clusters) === Boolean(values.hub))
    throw new UsageError('give exactly one of --clusters FILE or --hub URL');
  if (values.path.split('/').includes('..')) throw new UsageError('--path must stay inside the repository');
  if (values.format !== 'markdown' && values.format !== 'json')
    throw new UsageError('--format must be markdown or json');
  const maxChars = values['max-chars'] === undefined ? undefined : Number(values['max-chars']);
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 1000))
    throw new UsageError('--max-chars must be an integer of at least 1000');
  return {
    repo: values.repo!,
    path: values.path,
    base: values.base!,
    head: values.head!,
    clusters: values.clusters,
    hub: values.hub,
    hubTokenFile: values['hub-token-file'],
    gitTokenFile: values['git-token-file'],
    format: values.format,
    maxChars,
    out: values.out,
    capabilities: {
      ...(values['kube-version'] ? { kubeVersion: values['kube-version'] } : {}),
      ...(values['api-versions']
        ? { apiVersions: values['api-versions'].split(',').filter((v) => v.trim() !== '') }
        : {}),
    },
  };
}

async function secret(file: string | undefined): Promise<string | undefined> {
  return file === undefined ? undefined : (await readFile(file, 'utf8')).trim();
}

/**
 * What `helm template` is told per cluster: the flags for every cluster when given; else, with
 * `--hub`, what each cluster's agent last discovered (a cluster without it gets helm's defaults).
 */
async function capabilitiesFor(
  args: PreviewArgs,
  clusters: readonly ClusterIdentity[],
): Promise<(cluster: ClusterIdentity) => ClusterCapabilities> {
  const flags = args.capabilities;
  if (!args.hub || (flags.kubeVersion && flags.apiVersions)) return () => flags;
  const names = clusters.map((c) => c.name);
  const { capabilities, missing } = await fetchHubCapabilities(
    args.hub,
    await secret(args.hubTokenFile),
    names,
  );
  if (missing.length > 0) {
    process.stderr.write(
      `strata preview: ${missing.length} cluster(s) reported no Kubernetes version to the hub, so their charts render with helm's defaults: ${missing.join(', ')}\n`,
    );
  }
  return (cluster) => ({ ...capabilities.get(cluster.name), ...flags });
}

async function identities(args: PreviewArgs): Promise<ClusterIdentity[]> {
  if (args.clusters) {
    return readClustersFile(args.clusters);
  }
  const { clusters, silent } = await fetchHubClusters(args.hub!, await secret(args.hubTokenFile));
  if (silent.length > 0) {
    process.stderr.write(
      `strata preview: ${silent.length} cluster(s) never reported to the hub, so their labels are unknown; left out: ${silent.join(', ')}\n`,
    );
  }
  return clusters;
}

/** `strata preview`: an offline, fleet-wide preview of a pull request. */
export default async function preview(argv: string[]): Promise<number> {
  let args: PreviewArgs | 'help';
  try {
    args = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true)
      throw e;
    process.stderr.write(`strata preview: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const log = pino({ level: 'warn' }, pino.destination(2));
  try {
    const clusters = await identities(args);
    const refs = await openRefs(args.repo, args.base, args.head, {
      log,
      ...(args.gitTokenFile ? { auth: { tokenFile: args.gitTokenFile } } : {}),
    });
    try {
      const side = (r: OpenedRef) => ({ ...r, tree: subTree(r.tree, args.path) });
      const result = await previewFleet({
        base: side(refs.base),
        head: side(refs.head),
        clusters,
        tools: commandTools(),
        capabilities: await capabilitiesFor(args, clusters),
      });
      const text =
        args.format === 'json'
          ? formatJson(result)
          : formatMarkdown(result, args.maxChars ? { maxChars: args.maxChars } : {});
      if (args.out) await writeFile(args.out, text);
      else process.stdout.write(text);
      return 0;
    } finally {
      await refs.close();
    }
  } catch (e) {
    if (e instanceof ClusterListError || e instanceof RefError) {
      process.stderr.write(`strata preview: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
