// `nanokube token create`: a bootstrap token (kubeadm's join token format) for adding nodes later,
// printed with the CA hash a joining node pins the server certificate chain with.
import type { Command } from 'commander';
import { bootstrapTokenSecret, generateBootstrapToken } from '../apiserver/auth/bootstrap-tokens.ts';
import type { ResourceRef } from '../client/types.ts';
import { caHash } from '../pki/index.ts';
import { CliError, checkName, defaultClusterName, viewCluster } from './common.ts';
import { adminClient } from './user.ts';

const secrets: ResourceRef = { group: '', version: 'v1', resource: 'secrets', namespaced: true };

/** `24h`, `90m`, `3600s`, `1h30m`; `0` = never expires. Returns seconds. */
export function parseTtl(value: string): number {
  const v = value.trim();
  if (v === '0') return 0;
  const re = /(\d+)(h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
    consumed += m[0].length;
  }
  if (consumed !== v.length || consumed === 0) throw new CliError(`invalid --ttl "${value}": use e.g. 24h, 90m, 1h30m, or 0 for no expiry`, 2);
  return total;
}

export function register(program: Command): void {
  const token = program.command('token').description('bootstrap tokens for joining nodes');
  token
    .command('create')
    .description('create a bootstrap token (prints the token and the CA certificate hash)')
    .option('--ttl <duration>', 'lifetime of the token (0 = never expires)', '24h')
    .option('--description <text>', 'stored with the token')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .action(async (opts: { ttl: string; description?: string; name: string }) => {
      const ttlSeconds = parseTtl(opts.ttl);
      const { client, caPem } = adminClient(viewCluster(checkName(opts.name)));
      try {
        const value = generateBootstrapToken();
        await client.create(secrets, bootstrapTokenSecret(value, { ttlSeconds, ...(opts.description ? { description: opts.description } : {}) }));
        console.log(value);
        console.log(`ca-cert-hash: ${caHash(caPem)}`);
      } finally {
        client.close();
      }
    });
}
