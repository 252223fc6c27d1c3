// The record of one cluster, kept across stop/start so a restart reuses its port, data dir and
// kubeconfig entry (the kubeconfig the user already has must keep working).
import fs from 'node:fs';
import path from 'node:path';
import { clusterRecordDir, nanokubeHome } from './paths.ts';
import { writeFileAtomic } from '../util/fs.ts';

export interface ClusterRecord {
  name: string;
  dataDir: string;
  apiPort: number;
  /** External datastore given at first start; restarts must use the same one, never a fresh SQLite file. */
  datastoreEndpoint?: string;
  /** kubeconfig file our context was merged into, to remove it again on delete. */
  mergedKubeconfig?: string;
  createdAt: string;
}

export function recordFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(clusterRecordDir(name, env), 'cluster.json');
}

export function readClusterRecord(name: string, env: NodeJS.ProcessEnv = process.env): ClusterRecord | undefined {
  const file = recordFile(name, env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as ClusterRecord;
  } catch {
    throw new Error(`${file} is not valid JSON; fix or remove it (nanokube delete --name ${name} removes the cluster)`);
  }
}

export function writeClusterRecord(rec: ClusterRecord, env: NodeJS.ProcessEnv = process.env): void {
  writeFileAtomic(recordFile(rec.name, env), JSON.stringify(rec, null, 2) + '\n', 0o600);
}

/** Names of every cluster with a record under the home dir. */
export function listClusterNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = nanokubeHome(env);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(home, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && fs.existsSync(path.join(home, d.name, 'cluster.json')))
    .map((d) => d.name)
    .sort();
}
