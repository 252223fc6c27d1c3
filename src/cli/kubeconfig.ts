// `nanokube kubeconfig`: print the cluster's admin kubeconfig, or merge it into the user's.
import fs from 'node:fs';
import type { Command } from 'commander';
import { writeClusterRecord } from '../config/cluster-record.ts';
import { kubeconfigFileFor, mergeIntoKubeconfig, readKubeconfigFile } from '../config/kubeconfig.ts';
import { CliError, checkName, defaultClusterName, viewCluster } from './common.ts';

export function register(program: Command): void {
  program
    .command('kubeconfig')
    .description("print the cluster's kubeconfig (or merge it into $KUBECONFIG / ~/.kube/config)")
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('--merge', 'merge into $KUBECONFIG or ~/.kube/config and make it current')
    .option('--path', 'print only the path of the kubeconfig file')
    .action((opts: { name: string; merge?: boolean; path?: boolean }) => {
      const view = viewCluster(checkName(opts.name));
      const file = view.layout.kubeconfigFile;
      if (!fs.existsSync(file)) throw new CliError(`cluster "${view.name}" has no kubeconfig yet; start it with: nanokube start --name ${view.name}`);
      if (opts.path) {
        console.log(file);
      } else if (opts.merge) {
        const target = kubeconfigFileFor(`nanokube-${view.name}`);
        mergeIntoKubeconfig(target, readKubeconfigFile(file), { makeCurrent: true });
        if (view.record) writeClusterRecord({ ...view.record, mergedKubeconfig: target });
        console.log(`Context "nanokube-${view.name}" merged into ${target} and made current.`);
      } else {
        process.stdout.write(fs.readFileSync(file, 'utf8'));
      }
    });
}
