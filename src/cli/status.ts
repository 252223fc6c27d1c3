// `nanokube status`: is the cluster running, where, and with which data.
import type { Command } from 'commander';
import { gitVersion, nanokubeVersion } from '../version.ts';
import { CliError, checkName, defaultClusterName, viewCluster, type ClusterView } from './common.ts';

export interface ClusterStatus {
  name: string;
  state: 'running' | 'stopped' | 'absent';
  pid: number | null;
  apiServer: string | null;
  dataDir: string;
  kubeconfig: string;
  /** `sqlite` (the embedded file) or the external endpoint. */
  datastore: string;
  version: string;
  kubernetesVersion: string;
  startedAt: string | null;
}

export function clusterStatus(view: ClusterView): ClusterStatus {
  const state = view.pid !== undefined ? 'running' : view.record ? 'stopped' : 'absent';
  return {
    name: view.name,
    state,
    pid: view.pid ?? null,
    apiServer: view.runtime?.apiServer ?? (view.record ? `https://127.0.0.1:${view.record.apiPort}` : null),
    dataDir: view.dataDir,
    kubeconfig: view.layout.kubeconfigFile,
    datastore: view.record?.datastoreEndpoint ?? 'sqlite',
    version: nanokubeVersion,
    kubernetesVersion: gitVersion,
    startedAt: view.runtime?.startedAt ?? null,
  };
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show whether a cluster runs and where')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { name: string; output: string }) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw new CliError(`unknown output format "${opts.output}": use text or json`, 2);
      const s = clusterStatus(viewCluster(checkName(opts.name)));
      if (opts.output === 'json') {
        console.log(JSON.stringify(s, null, 2));
      } else if (s.state === 'absent') {
        console.log(`Cluster "${s.name}" does not exist. Create it with: nanokube start --name ${s.name}`);
      } else {
        console.log(`Cluster:    ${s.name}\nState:      ${s.state}${s.pid ? ` (pid ${s.pid})` : ''}\nAPI server: ${s.apiServer}\nData dir:   ${s.dataDir}\nKubeconfig: ${s.kubeconfig}\nDatastore:  ${s.datastore}\nVersion:    nanokube ${s.version}, Kubernetes ${s.kubernetesVersion}`);
      }
      if (s.state === 'absent') process.exitCode = 1;
    });
}
