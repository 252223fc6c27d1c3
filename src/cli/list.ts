// `nanokube list`: every cluster under the nanokube home, with its state.
import type { Command } from 'commander';
import { listClusterNames } from '../config/cluster-record.ts';
import { viewCluster } from './common.ts';
import { clusterStatus } from './status.ts';

export function register(program: Command): void {
  program
    .command('list')
    .description('list clusters')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { output: string }) => {
      const all = listClusterNames().map((n) => clusterStatus(viewCluster(n)));
      if (opts.output === 'json') {
        console.log(JSON.stringify(all, null, 2));
        return;
      }
      if (all.length === 0) {
        console.log('No clusters. Start one with: nanokube start');
        return;
      }
      const rows = [['NAME', 'STATE', 'API SERVER', 'DATA DIR'], ...all.map((s) => [s.name, s.state, s.apiServer ?? '', s.dataDir])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd());
    });
}
