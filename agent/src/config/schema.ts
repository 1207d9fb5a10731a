/**
 * The agent's configuration schema (zod 4). Every field is documented here and in
 * agent/src/config/README.md; the loader merges file, environment and flags, then validates once.
 */
import cron from 'node-cron';
import { z } from 'zod';
import { parseDuration } from '../../../contract/duration.js';
import { REPORT_BODY } from '../../../contract/limits.js';
import { isSshUrl } from '../model/ssh-url.js';

/** A duration string (`30s`, `5m`) parsed to milliseconds, bounded. */
const duration = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not a duration: write e.g. 500ms, 30s, 5m, 1h`,
      });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min}ms and ${max}ms, got ${ms}ms` });
      return z.NEVER;
    }
    return ms;
  });

const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be a DNS-1123 name: lowercase letters, digits, "-" and "."',
  );

const labelKey = z
  .string()
  .max(317)
  .regex(
    /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    'is not a valid label key',
  );
const labelValue = z
  .string()
  .max(63)
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'is not a valid label value');

/** The cluster's identity: its name and labels, what layers and selectors render against. */
export const ClusterConfig = z.strictObject({
  /** The cluster's name: chooses `clusters/<name>/` and names the cluster at the hub. */
  name: dnsName,
  /** Labels that choose region/env layers and cluster selectors. */
  labels: z.record(labelKey, labelValue).default({}),
});

/** Credentials read from files at each use (so a rotated Secret is picked up without restart). */
export const SourceAuth = z.union([
  z.strictObject({
    /** File holding a bearer token (sent as `Authorization: Bearer …`). */
    tokenFile: z.string().min(1),
  }),
  z.strictObject({
    /** User name, inline (not a secret). */
    username: z.string().min(1).optional(),
    /** File holding the user name. */
    usernameFile: z.string().min(1).optional(),
    /** File holding the password or personal access token (HTTP basic auth). */
    passwordFile: z.string().min(1),
  }),
  z.strictObject({
    /** SSH URLs: private key file (no passphrase), e.g. a deploy key. */
    sshKeyFile: z.string().min(1),
    /** SSH URLs: known_hosts file with the server's host key; required, unknown or changed keys are refused. */
    knownHostsFile: z.string().min(1),
  }),
]);

const refName = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (r) => !/[\s~^:?*[\\]|\.\.|@\{|^-|\/\/|\.lock$|\/$/.test(r),
    'is not a valid Git ref name or commit',
  );

/** How old a preview ref's head commit may be before it is no longer previewed: 30 days. */
export const PREVIEW_MAX_AGE_MS = 30 * 86_400_000;

/**
 * Which preview refs an agent dry-runs at all. A pull request's author is not trusted, and every
 * agent of the fleet would otherwise dry-run every stranger's PR against its live cluster: by
 * default only refs whose head commit is signed by a trusted key are previewed.
 */
export const PreviewPolicy = z
  .strictObject({
    /** `signed` (default): a ref's head commit must be signed by one of `keys`; `everyone`: every matching ref. */
    trust: z.enum(['signed', 'everyone']).default('signed'),
    /** Public key files (OpenPGP or SSH) a previewed head must be signed by; default: the source's `verify.keys`. */
    keys: z.array(z.string().min(1)).min(1, 'list at least one public key file').max(64).optional(),
    /** Ref patterns previewed without a signature: refs only trusted people can push (`refs/heads/preview/*`). */
    allowRefs: z
      .array(z.string().regex(/^refs\/[^\s]+$/, 'must be a ref pattern starting with refs/'))
      .max(64)
      .default([]),
    /**
     * A ref pattern with the same stars as `previewRefs` that exists only while the pull request is
     * open (GitHub: `refs/pull/*\/merge`): a preview ref without it is closed.
     */
    openWhile: z
      .string()
      .regex(/^refs\/[^\s]+$/, 'must be a ref pattern starting with refs/, e.g. refs/pull/*/merge')
      .optional(),
    /** A head commit older than this is not previewed (closed) until something new is pushed. */
    maxAge: duration(3_600_000, 365 * 86_400_000).default(PREVIEW_MAX_AGE_MS),
  })
  .superRefine((p, ctx) => {
    if (p.trust === 'everyone' && (p.keys || p.allowRefs.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['trust'],
        message: 'keys and allowRefs narrow trust: signed; with trust: everyone every ref is previewed',
      });
    }
  });
/** A source's parsed `previewPolicy`. */
export type PreviewPolicy = z.infer<typeof PreviewPolicy>;

/** One fleet repository the agent reconciles: URL, ref, path, schedule, auth and verification. */
export const SourceConfig = z
  .strictObject({
    /** Short name for logs, metrics and the hub; default derived from the URL. */
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-"')
      .max(63)
      .optional(),
    /** `https://…`, `http://…`, `ssh://…` or `user@host:path` Git URL, or a local folder path (relative to the config file). */
    url: z.string().min(1).max(2048),
    /** Branch, tag, full ref, or a 40-hex commit SHA to pin. Ignored for folders. */
    ref: refName.default('main'),
    /** Sub-folder of the repository that holds the fleet layout. */
    path: z
      .string()
      .max(1024)
      .refine((p) => !p.split('/').includes('..'), 'must stay inside the repository (no "..")')
      .default(''),
    auth: SourceAuth.optional(),
    /** Time between reconciles. */
    interval: duration(1000, 7 * 86_400_000).default(60_000),
    /** A node-cron expression (6 fields with seconds, or 5) used instead of `interval`. */
    schedule: z
      .string()
      .refine((s) => cron.validate(s), 'is not a valid cron expression')
      .optional(),
    /** Limit for one fetch (connect + transfer). */
    timeout: duration(1000, 3_600_000).default(60_000),
    /** Pull-request refs to preview with a dry-run plan, e.g. `refs/pull/*\/head`. */
    previewRefs: z
      .string()
      .regex(/^refs\/[^\s]+$/, 'must be a ref pattern starting with refs/, e.g. refs/pull/*/head')
      .optional(),
    /** Which `previewRefs` are dry-run: signed heads only unless said otherwise (see PreviewPolicy). */
    previewPolicy: PreviewPolicy.optional(),
    /** Signature policy: only commits/tags signed by one of `keys` (OpenPGP or SSH public key files) are rendered. */
    verify: z
      .strictObject({
        mode: z.enum(['head', 'tag', 'head-and-tag']).default('head'),
        keys: z.array(z.string().min(1)).min(1, 'list at least one public key file').max(64),
      })
      .optional(),
    /** SOPS-encrypted Secrets in this source are decrypted with the age identities of this file. */
    decryption: z.strictObject({ ageKeyFile: z.string().min(1) }).optional(),
    /** Folder sources only: wait this long after the last change before re-rendering. */
    debounce: duration(0, 60_000).default(300),
  })
  .superRefine((s, ctx) => {
    const ssh = isSshUrl(s.url);
    const sshAuth = s.auth !== undefined && 'sshKeyFile' in s.auth;
    if (ssh && !sshAuth) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'an SSH URL needs auth.sshKeyFile and auth.knownHostsFile (host keys are never accepted blindly)',
      });
    }
    if (s.verify && s.verify.mode !== 'head' && /^[0-9a-f]{40}$/.test(s.ref)) {
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'mode'],
        message: `a pinned commit has no tag to verify: use mode head`,
      });
    }
    const stars = (pattern: string) => pattern.split('*').length - 1;
    const openWhile = s.previewPolicy?.openWhile;
    if (openWhile && s.previewRefs && stars(openWhile) !== stars(s.previewRefs)) {
      ctx.addIssue({
        code: 'custom',
        path: ['previewPolicy', 'openWhile'],
        message: `must have as many * as previewRefs (${s.previewRefs}): each names the same pull request`,
      });
    }
    if (s.previewPolicy && !s.previewRefs) {
      ctx.addIssue({
        code: 'custom',
        path: ['previewPolicy'],
        message: 'previewPolicy needs previewRefs (the refs it decides about)',
      });
    }
    if (!ssh && sshAuth) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: 'sshKeyFile is for ssh:// or user@host:path URLs',
      });
    }
  })
  .transform((s) => ({ ...s, kind: sourceKind(s.url) }));

/** A source is a Git remote or a local folder, told apart by its URL. */
export type SourceKind = 'git' | 'folder';

/** `http(s)://`, `ssh://` and `user@host:path` are Git (`git://` is refused later); anything else is a folder. */
export function sourceKind(url: string): SourceKind {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || isSshUrl(url) ? 'git' : 'folder';
}

/**
 * Where and how the agent reports to the hub; reports are optional, the agent works without a hub.
 */
export const HubConfig = z.strictObject({
  /** Base URL of the hub; reports go to `<url>/api/v1/reports`. */
  url: z.url({ protocol: /^https?$/ }),
  /** File holding this cluster's bearer token for the hub. */
  tokenFile: z.string().min(1).optional(),
  /** PEM file of the CA that signed the hub's certificate (for a private CA). */
  caFile: z.string().min(1).optional(),
  /** Limit for one delivery attempt. */
  timeout: duration(100, 300_000).default(10_000),
  /**
   * Largest report body sent (the hub's --body-limit, 4 MiB by default): a larger report is trimmed,
   * section by section with counts of what was left out. A 413 answer halves it and sends again.
   */
  maxReportBytes: z
    .number()
    .int()
    .min(REPORT_BODY.minConfiguredBytes)
    .max(REPORT_BODY.maxConfiguredBytes)
    .default(REPORT_BODY.defaultBytes),
  /**
   * A report that differs from the last one the hub stored only in its timestamps is sent as a
   * heartbeat (a few dozen bytes), but a full report goes at least this often, so the hub's copy of
   * those timestamps is never older than this. `0`: every report is sent in full.
   */
  fullReportEvery: duration(0, 7 * 24 * 3600_000).default(3600_000),
});

/**
 * How the agent reaches its cluster: in-cluster service account or a kubeconfig, and API limits.
 */
export const KubeConfig = z
  .strictObject({
    /** Use the pod's service account (when running inside the cluster). */
    inCluster: z.boolean().default(false),
    /** Path of a kubeconfig file (when running beside the cluster). */
    kubeconfig: z.string().min(1).optional(),
    /** Context of the kubeconfig to use; default its current-context. */
    context: z.string().min(1).optional(),
    /** Accept a kubeconfig cluster with insecure-skip-tls-verify (refused otherwise). */
    insecureSkipTlsVerify: z.boolean().default(false),
    /** Environment variables passed to kubeconfig exec plugins besides PATH and HOME (none by default). */
    execEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'))
      .max(64)
      .default([]),
    /**
     * `namespace/name` of a ServiceAccount that live previews of pull-request refs run as
     * (impersonated; the agent needs the `impersonate` verb on it). Without it previews run with the
     * agent's own rights.
     */
    previewServiceAccount: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
        'must be namespace/name of a ServiceAccount',
      )
      .optional(),
    /** The agent's namespace: holds the ApplySet parent Secret of each source (created if missing). */
    namespace: dnsName.default('strata-system'),
    /** Limit for one apiserver request: a frozen apiserver or etcd fails the request instead of hanging the sync. */
    timeout: duration(1000, 600_000).default(60_000),
  })
  .refine((k) => !(k.inCluster && k.kubeconfig), {
    message: 'set either inCluster: true or kubeconfig, not both',
    path: ['inCluster'],
  });

/**
 * What the agent does about drift (correct or report) and how often it looks without a new commit.
 */
export const DriftConfig = z.strictObject({
  /** `correct` re-applies drifted objects; `report` only reports them. */
  policy: z.enum(['correct', 'report']).default('correct'),
  /** How often to check live objects for drift between reconciles. */
  interval: duration(1000, 86_400_000).default(300_000),
});

/**
 * Prune rules: whether to delete what left the repository and how large a deletion may be at once.
 */
export const PruneConfig = z.strictObject({
  /** Delete objects that Git no longer holds (only ones in the agent's ApplySet). */
  enabled: z.boolean().default(true),
  /** Above this fraction of the inventory in one reconcile, prune stops and reports instead. */
  maxFraction: z.number().min(0).max(1).default(0.5),
  /** Kinds that may be pruned: `*`, `group/*` or `group/Kind` (`apps/Deployment`, `/ConfigMap`); others get `strata.dev/prune: "false"`. */
  allow: z
    .array(z.string().regex(/^(\*|[a-z0-9.-]*\/(\*|[A-Za-z0-9]+))$/, 'must be "*" or "group/Kind"'))
    .default(['*']),
});

/** The report outbox's bounds and delivery backoff. */
export const OutboxConfig = z.strictObject({
  /** Most reports kept on disk; above it, older reports of the same source are folded (latest wins). */
  maxReports: z.number().int().min(2).max(100_000).default(500),
  /** First retry delay; doubles up to `maxBackoff`, with jitter. */
  minBackoff: duration(10, 3_600_000).default(1000),
  maxBackoff: duration(10, 86_400_000).default(300_000),
});

/** Credentials for chart repositories and OCI registries, by URL prefix, read from files at each use. */
export const ChartCredential = z
  .strictObject({
    /** `https://charts.example.com/` or `oci://registry.example.com/charts/`: the longest matching prefix wins. */
    url: z.string().regex(/^(https?|oci):\/\/[^/]+/, 'must be an http(s):// or oci:// URL prefix'),
    tokenFile: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    usernameFile: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
  })
  .refine(
    (c) => (c.tokenFile === undefined) !== (c.passwordFile === undefined),
    'needs tokenFile or passwordFile (not both)',
  );

/** kustomize and helm for layers that use them. */
export const RenderConfig = z.strictObject({
  /** Path of the kustomize binary; default `STRATA_KUSTOMIZE`, then PATH (the image ships one). */
  kustomize: z.string().min(1).optional(),
  /** Path of the helm binary; default `STRATA_HELM`, then PATH. */
  helm: z.string().min(1).optional(),
  chartCredentials: z.array(ChartCredential).max(64).default([]),
});

/** The agent's whole configuration, parsed once and passed down as a typed value. */
export const AgentConfig = z.strictObject({
  cluster: ClusterConfig,
  sources: z.array(SourceConfig).min(1, 'needs at least one source').max(64),
  /** Optional: without a hub, reports stay in the outbox (folded, bounded). */
  hub: HubConfig.optional(),
  kube: KubeConfig.default({
    inCluster: false,
    namespace: 'strata-system',
    insecureSkipTlsVerify: false,
    execEnv: [],
    timeout: 60_000,
  }),
  drift: DriftConfig.default({ policy: 'correct', interval: 300_000 }),
  prune: PruneConfig.default({ enabled: true, maxFraction: 0.5, allow: ['*'] }),
  outbox: OutboxConfig.default({ maxReports: 500, minBackoff: 1000, maxBackoff: 300_000 }),
  /** Folder for the Git cache, the outbox and the seq counter. Must be persistent for no report to be lost. */
  stateDir: z.string().min(1).default('/var/lib/strata'),
  render: RenderConfig.default({ chartCredentials: [] }),
  /** Address of /healthz, /readyz, /metrics and POST /sync: `host:port`. */
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9090 or 127.0.0.1:0')
    .default('0.0.0.0:9090'),
  /**
   * Bearer token file for `POST /sync`. Without it the agent answers `POST /sync` only to loopback
   * clients (403 for the rest): the port is on the pod network for probes and metrics.
   */
  syncTokenFile: z.string().min(1).optional(),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .default({ level: 'info' }),
});

type ParsedAgentConfig = z.output<typeof AgentConfig>;
/** The config as a file may write it. */
export type AgentConfigInput = z.input<typeof AgentConfig>;
/** One source after loading: every source has a unique name. */
export type SourceConfig = z.output<typeof SourceConfig> & { name: string };
/** The validated configuration the agent runs with. */
export type AgentConfig = Omit<ParsedAgentConfig, 'sources'> & { sources: SourceConfig[] };
/** A source's credentials after parsing. */
export type SourceAuth = z.output<typeof SourceAuth>;
/** The hub settings after parsing, defaults filled in. */
export type HubConfig = z.output<typeof HubConfig>;
