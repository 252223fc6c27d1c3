// `nanokube user add|list|remove`: workshop accounts. Each user gets a client certificate (CN = the
// user name) signed by the cluster CA and a RoleBinding of a built-in ClusterRole (edit, view or
// admin) in one namespace; `add` prints (or writes) a kubeconfig for it.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { HttpClient } from '../client/http-client.ts';
import { isAlreadyExists, isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import { buildKubeconfig, writeKubeconfig } from '../config/kubeconfig.ts';
import { issueClientCert } from '../pki/index.ts';
import { CliError, checkName, defaultClusterName, viewCluster, type ClusterView } from './common.ts';

const RBAC = 'rbac.authorization.k8s.io';
const roleBindings: ResourceRef = { group: RBAC, version: 'v1', resource: 'rolebindings', namespaced: true };
const namespaces: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
/** Label that marks the bindings `nanokube user` manages (user names need not be valid label values). */
export const USER_BINDING_LABEL = 'nanokube.io/user-binding';
export const USER_ANNOTATION = 'nanokube.io/user';
const ROLES = ['edit', 'view', 'admin'] as const;

/** A client for a running cluster with its admin credentials (the CLI runs next to the server). */
export function adminClient(view: ClusterView): { client: HttpClient; server: string; caPem: string; pkiDir: string } {
  if (!view.runtime) throw new CliError(`cluster "${view.name}" is not running; start it with: nanokube start --name ${view.name}`);
  const pkiDir = view.layout.pkiDir;
  const read = (f: string) => {
    try {
      return fs.readFileSync(path.join(pkiDir, f), 'utf8');
    } catch {
      throw new CliError(`cannot read ${path.join(pkiDir, f)}: run this as the user who started the cluster`);
    }
  };
  const caPem = read('ca.crt');
  const client = new HttpClient({
    transport: { kind: 'https', server: view.runtime.apiServer, caPem, certPem: read('admin.crt'), keyPem: read('admin.key') },
    userAgent: 'nanokube-cli',
  });
  return { client, server: view.runtime.apiServer, caPem, pkiDir };
}

/** RoleBinding names are path segments: keep the user name readable but safe. */
export function bindingName(user: string): string {
  return `nanokube-user:${user.replace(/[/%]/g, '_')}`;
}

function checkUser(user: string): string {
  if (!user || user.length > 253) throw new CliError('a user name must be 1-253 characters', 2);
  if (user.startsWith('system:')) throw new CliError(`"${user}" is reserved: names starting with system: belong to Kubernetes components`, 2);
  if (/[\s,/]/.test(user)) throw new CliError(`invalid user name "${user}": no spaces, commas or slashes`, 2);
  return user;
}

async function ensureNamespace(client: Client, name: string): Promise<boolean> {
  try {
    await client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw e;
  }
}

async function bindUser(client: Client, user: string, namespace: string, role: string): Promise<void> {
  const name = bindingName(user);
  const binding = {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name, namespace, labels: { [USER_BINDING_LABEL]: 'true' }, annotations: { [USER_ANNOTATION]: user } },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: RBAC, kind: 'User', name: user }],
  } as KubeObject;
  try {
    const have = await client.get<KubeObject & { roleRef?: { name?: string } }>(roleBindings, name, namespace);
    if (have.roleRef?.name === role) return;
    // roleRef is immutable: a role change is a new binding.
    await client.delete(roleBindings, name, { namespace });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await client.create(roleBindings, binding);
}

async function userBindings(client: Client): Promise<KubeObject[]> {
  const list = await client.list<KubeObject>(roleBindings, { labelSelector: `${USER_BINDING_LABEL}=true` });
  return list.items;
}

export function register(program: Command): void {
  const user = program.command('user').description('manage workshop users: client certificates bound to a role in one namespace');
  user
    .command('add <user>')
    .description('create a user with a role in a namespace and print a kubeconfig for it')
    .option('--namespace <ns>', 'namespace the user works in (created if missing)', 'default')
    .option('--role <role>', `ClusterRole granted in that namespace: ${ROLES.join(', ')}`, 'edit')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('-o, --output <file>', 'write the kubeconfig to this file (mode 0600) instead of printing it')
    .action(async (userName: string, opts: { namespace: string; role: string; name: string; output?: string }) => {
      checkUser(userName);
      if (!(ROLES as readonly string[]).includes(opts.role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}, not "${opts.role}"`, 2);
      const view = viewCluster(checkName(opts.name));
      const { client, server, caPem, pkiDir } = adminClient(view);
      try {
        const created = await ensureNamespace(client, opts.namespace);
        await bindUser(client, userName, opts.namespace, opts.role);
        const ca = { certPem: caPem, keyPem: fs.readFileSync(path.join(pkiDir, 'ca.key'), 'utf8') };
        const cert = await issueClientCert(ca, { commonName: userName });
        const contextName = `nanokube-${view.name}-${userName}`;
        const kc = buildKubeconfig({ name: contextName, server, caPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem, namespace: opts.namespace });
        const what = `User "${userName}" can ${opts.role === 'view' ? 'read' : opts.role === 'edit' ? 'read and write' : 'administer'} namespace "${opts.namespace}"${created ? ' (created)' : ''}`;
        if (opts.output) {
          writeKubeconfig(opts.output, kc);
          console.log(`${what}; kubeconfig written to ${opts.output} (context "${contextName}").`);
        } else {
          process.stderr.write(`${what}; context "${contextName}":\n`);
          process.stdout.write(YAML.stringify(kc));
        }
      } finally {
        client.close();
      }
    });
  user
    .command('list')
    .description('list users added with `nanokube user add`')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .action(async (opts: { name: string }) => {
      const { client } = adminClient(viewCluster(checkName(opts.name)));
      try {
        const rows = (await userBindings(client)).map((b) => [
          b.metadata.annotations?.[USER_ANNOTATION] ?? '',
          b.metadata.namespace ?? '',
          (b as KubeObject & { roleRef?: { name?: string } }).roleRef?.name ?? '',
        ]);
        rows.sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
        const table = [['USER', 'NAMESPACE', 'ROLE'], ...rows];
        const widths = [0, 1].map((i) => Math.max(...table.map((r) => (r[i] ?? '').length)) + 3);
        for (const r of table) console.log(`${(r[0] ?? '').padEnd(widths[0]!)}${(r[1] ?? '').padEnd(widths[1]!)}${r[2] ?? ''}`);
      } finally {
        client.close();
      }
    });
  user
    .command('remove <user>')
    .description(
      "remove a user's role bindings. Client certificates cannot be revoked: the certificate still " +
        'authenticates until it expires, it just grants nothing beyond what every authenticated user may do',
    )
    .option('--name <name>', 'cluster name', defaultClusterName)
    .action(async (userName: string, opts: { name: string }) => {
      const { client } = adminClient(viewCluster(checkName(opts.name)));
      try {
        const mine = (await userBindings(client)).filter((b) => b.metadata.annotations?.[USER_ANNOTATION] === userName);
        if (mine.length === 0) throw new CliError(`no user "${userName}" (see: nanokube user list --name ${opts.name})`);
        for (const b of mine) await client.delete(roleBindings, b.metadata.name ?? '', { namespace: b.metadata.namespace ?? '' });
        console.log(
          `User "${userName}" removed from ${mine.map((b) => b.metadata.namespace).join(', ')}. ` +
            'Its certificate cannot be revoked; it still authenticates but is no longer granted anything.',
        );
      } finally {
        client.close();
      }
    });
}
