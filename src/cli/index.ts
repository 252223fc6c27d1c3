// Every CLI command, one file each, registered here in the order `--help` lists them.
import type { Command } from 'commander';
import * as start from './start.ts';
import * as stop from './stop.ts';
import * as del from './delete.ts';
import * as status from './status.ts';
import * as list from './list.ts';
import * as kubeconfig from './kubeconfig.ts';
import * as server from './server.ts';
import * as version from './version.ts';
import * as user from './user.ts';
import * as token from './token.ts';
import * as run from './run.ts';
import * as image from './image.ts';

export const commands: Array<{ register(program: Command): void }> = [start, stop, del, status, list, kubeconfig, run, image, user, token, server, version];
