/**
 * The demo's fleet: the three clusters' identities from examples/fleet/clusters.yaml, and a local
 * Git server (test/git: git http-backend behind node:http) holding examples/fleet as `fleet.git`.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ClusterIdentity } from '../../agent/src/model/object.js';
import {
  commitFolder,
  createRepo,
  type GitServer,
  resolveRef,
  startGitServer,
  type TestRepo,
} from '../../test/git/index.js';

export const FLEET_FOLDER = fileURLToPath(new URL('../fleet', import.meta.url));

/** The identities of `names`, in that order, from a clusters file (`clusters: [{name, labels}]`). */
export function clusterIdentities(file: string, names: readonly string[]): ClusterIdentity[] {
  const parsed = parse(readFileSync(file, 'utf8')) as { clusters?: ClusterIdentity[] } | null;
  const known = parsed?.clusters ?? [];
  return names.map((name) => {
    const found = known.find((c) => c.name === name);
    if (!found) throw new Error(`${file}: no cluster named "${name}" (the demo needs ${names.join(', ')})`);
    return { name, labels: { ...found.labels } };
  });
}

export interface FleetRepo {
  server: GitServer;
  repo: TestRepo;
  url: string;
  /** The commit `main` points at now (it moves when someone pushes). */
  head(): Promise<string>;
}

/** Starts a Git server under `<dir>/git` with `fleet.git` holding one commit of examples/fleet. */
export async function startFleetRepo(dir: string, port = 0): Promise<FleetRepo> {
  const root = path.join(dir, 'git');
  rmSync(root, { recursive: true, force: true });
  const repo = await createRepo(root, 'fleet');
  await commitFolder(repo, FLEET_FOLDER, { message: 'Example fleet (examples/fleet)' });
  const server = await startGitServer({ root, port });
  return {
    server,
    repo,
    url: server.url('fleet'),
    head: async () => {
      const commit = await resolveRef(repo, 'refs/heads/main');
      if (!commit) throw new Error(`${repo.dir}: branch main is gone`);
      return commit;
    },
  };
}
