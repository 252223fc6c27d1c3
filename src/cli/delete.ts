// `nanokube delete`: stop the cluster and remove everything it made: data dir, kubeconfig entries,
// Docker objects labelled for it, and its iptables chains.
import fs from 'node:fs';
import type { Command } from 'commander';
import { clusterRecordDir } from '../config/paths.ts';
import { checkName, defaultClusterName, parseDuration, viewCluster } from './common.ts';
import { stopServer } from './stop.ts';

export function register(program: Command): void {
  program
    .command('delete')
    .description('stop a cluster and remove its data, kubeconfig entries and Docker objects')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('--timeout <duration>', 'how long to wait for a graceful stop before killing', '30s')
    .action(async (opts: { name: string; timeout: string }) => {
      const view = viewCluster(checkName(opts.name));
      if (!view.record && !fs.existsSync(view.dataDir)) {
        console.log(`Cluster "${view.name}" does not exist.`);
        return;
      }
      await stopServer(view, parseDuration(opts.timeout));
      const notes: string[] = [];
      const { pingDocker } = await import('../runtime/docker/connect.ts');
      const { removeClusterDockerObjects } = await import('../runtime/docker/cleanup.ts');
      const { removeFromKubeconfig } = await import('../config/kubeconfig.ts');
      try {
        await pingDocker(3000);
        const r = await removeClusterDockerObjects(view.name);
        if (r.containers + r.networks + r.volumes > 0) notes.push(`${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes`);
      } catch (e) {
        // Without an engine there can be no running containers of ours to remove; say so and go on.
        notes.push(`Docker objects not checked: ${(e as Error).message.split('.')[0]}`);
      }
      const { removeClusterIptables } = await import('../network/cleanup.ts');
      const chains = await removeClusterIptables(view.name);
      if (chains) notes.push(chains);
      const kubeconfig = view.record?.mergedKubeconfig;
      if (kubeconfig && fs.existsSync(kubeconfig)) {
        removeFromKubeconfig(kubeconfig, `nanokube-${view.name}`);
        notes.push(`context nanokube-${view.name} removed from ${kubeconfig}`);
      }
      fs.rmSync(view.dataDir, { recursive: true, force: true });
      fs.rmSync(clusterRecordDir(view.name), { recursive: true, force: true });
      console.log(`Cluster "${view.name}" deleted${notes.length ? ` (${notes.join('; ')})` : ''}.`);
    });
}
