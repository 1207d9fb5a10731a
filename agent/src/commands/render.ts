import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../../contract/usage.js';
import type { ClusterIdentity } from '../model/object.js';
import {
  explainRender,
  formatRenderError,
  renderCluster,
  toJsonList,
  toYamlStream,
} from '../render/index.js';
import { objectFileName } from '../render/output.js';
import { createRenderTools } from '../render-tools/index.js';
import type { FileTree } from '../source/tree.js';
import { openRepo, parseLabels } from './shared/args.js';

const HELP = `Usage: strata render --repo DIR --cluster NAME [options]

Renders the objects one cluster must run from a fleet repository.

Options:
  --repo DIR          the fleet repository (a folder, or a Git repository with --ref)
  --cluster NAME      the cluster's name
  --labels K=V,...    the cluster's labels, e.g. region=cn-hangzhou,env=prod
  --ref REF           render this commit, branch or tag of the Git repository in DIR, without a checkout
  --format yaml|json  output format (default yaml; json prints a v1 List)
  --explain           print where every object came from (layers, definitions, patches) instead of the objects
  --out DIR           write one file per object into DIR instead of printing them
  --kustomize PATH    the kustomize binary for kustomizations (default: $STRATA_KUSTOMIZE, then PATH)
  --helm PATH         the helm binary for HelmChart documents (default: $STRATA_HELM, then PATH)
  --kube-version V    the Kubernetes version charts are rendered for (default: helm's own)
  --api-versions L    comma-separated API versions charts may test for (.Capabilities.APIVersions)
  -h, --help          show this help

Exit codes: 0 rendered, 1 render errors (each printed with file, document and line), 2 usage error.
`;

interface RenderArgs {
  repo: string;
  cluster: ClusterIdentity;
  ref?: string;
  format: 'yaml' | 'json';
  explain: boolean;
  out?: string;
  kustomize?: string;
  helm?: string;
  kubeVersion?: string;
  apiVersions?: string[];
}

function parseRenderArgs(argv: string[]): RenderArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      cluster: { type: 'string' },
      labels: { type: 'string', default: '' },
      ref: { type: 'string' },
      format: { type: 'string', default: 'yaml' },
      explain: { type: 'boolean', default: false },
      out: { type: 'string' },
      kustomize: { type: 'string' },
      helm: { type: 'string' },
      'kube-version': { type: 'string' },
      'api-versions': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.repo) throw new UsageError('--repo DIR is required');
  if (!values.cluster) throw new UsageError('--cluster NAME is required');
  if (values.format !== 'yaml' && values.format !== 'json')
    throw new UsageError('--format must be yaml or json');
  return {
    repo: values.repo,
    cluster: { name: values.cluster, labels: parseLabels(values.labels) },
    ref: values.ref,
    format: values.format,
    explain: values.explain,
    out: values.out,
    kustomize: values.kustomize,
    helm: values.helm,
    kubeVersion: values['kube-version'],
    apiVersions: values['api-versions']?.split(',').filter((v) => v.trim() !== ''),
  };
}

/** `strata render`: one cluster's objects from a fleet repository folder or commit. */
export default async function render(argv: string[]): Promise<number> {
  let args: RenderArgs | 'help';
  let tree: FileTree;
  try {
    args = parseRenderArgs(argv);
    if (args === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    tree = await openRepo(args.repo, args.ref);
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true)
      throw e;
    process.stderr.write(`strata render: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const binaries = {
    ...(args.kustomize ? { kustomize: args.kustomize } : {}),
    ...(args.helm ? { helm: args.helm } : {}),
  };
  const result = await renderCluster(tree, args.cluster, {
    tools: createRenderTools({ binaries, env: process.env }),
    capabilities: {
      ...(args.kubeVersion ? { kubeVersion: args.kubeVersion } : {}),
      ...(args.apiVersions ? { apiVersions: args.apiVersions } : {}),
    },
  });
  if (!result.ok) {
    process.stderr.write(
      `strata render: ${tree.description} failed to render for cluster ${args.cluster.name}:\n`,
    );
    for (const error of result.errors) process.stderr.write(`  ${formatRenderError(error)}\n`);
    return 1;
  }
  if (args.out) {
    await mkdir(args.out, { recursive: true });
    for (const o of result.objects) {
      const text = args.format === 'json' ? `${JSON.stringify(o.object, null, 2)}\n` : toYamlStream([o]);
      const name = objectFileName(o.object);
      await writeFile(join(args.out, args.format === 'json' ? name.replace(/\.yaml$/, '.json') : name), text);
    }
  }
  if (args.explain) {
    process.stdout.write(
      args.format === 'json'
        ? `${JSON.stringify({ cluster: args.cluster, ...result, objects: result.objects.map(({ id, provenance }) => ({ id, provenance })) }, null, 2)}\n`
        : explainRender(args.cluster, result),
    );
  } else if (!args.out) {
    process.stdout.write(args.format === 'json' ? toJsonList(result.objects) : toYamlStream(result.objects));
  }
  return 0;
}
