// `nanokube version`.
import type { Command } from 'commander';
import { gitVersion, nanokubeVersion } from '../version.ts';

export function register(program: Command): void {
  program
    .command('version')
    .description('print the nanokube and Kubernetes versions')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { output: string }) => {
      if (opts.output === 'json') {
        console.log(JSON.stringify({ nanokube: nanokubeVersion, kubernetes: gitVersion, node: process.version }));
      } else {
        console.log(`nanokube ${nanokubeVersion} (Kubernetes ${gitVersion}, Node ${process.version})`);
      }
    });
}
