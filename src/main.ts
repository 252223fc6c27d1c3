// The nanokube executable: parse the command line and hand off to one command in src/cli/.
import { Command } from 'commander';
import { commands } from './cli/index.ts';
import { CliError } from './cli/common.ts';
import { nanokubeVersion } from './version.ts';
import { setLogLevel } from './util/log.ts';

const program = new Command('nanokube')
  .description('A Kubernetes cluster in one executable: API server, controllers and a Docker kubelet in one process.')
  .version(nanokubeVersion, '--version', 'print the nanokube version')
  .option('-v, --verbose', 'debug logging')
  .showHelpAfterError()
  // Lets `nanokube run kubectl get pods -o yaml` hand its options to the command, not to us.
  .enablePositionalOptions()
  .hook('preAction', (cmd) => {
    if (cmd.opts().verbose) setLogLevel('debug');
  });
for (const c of commands) c.register(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CliError) {
    console.error(`error: ${e.message}`);
    process.exitCode = e.exitCode;
  } else {
    console.error(`error: ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = 1;
  }
});
