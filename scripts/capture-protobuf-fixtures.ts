// Records the protobuf request bodies real kubectl (1.35 and 1.32, from the CDK layer packages) sends,
// as fixtures for test/unit/protobuf.test.ts.
//
//   node --import tsx scripts/capture-protobuf-fixtures.ts
//
// A throw-away HTTPS server on 127.0.0.1 answers just enough (aggregated discovery, echoing creates)
// for each command to send its body. For every captured body we also ask the same kubectl for
// `--dry-run=client -o json` of the same command: that JSON comes from Go's encoding/json on the
// very object kubectl encoded, so it is an independent expected value for the decoder. Commands
// without a dry-run form (token, can-i, whoami, drain) get an expected value written here by hand,
// following the Go json tags of their types (as of 1.35: unset creationTimestamp is omitted).
//
// Output: test/fixtures/protobuf/<kubectl>-<name>.bin (body as sent), .json (expected JSON), and
// index.json (command, method, path, Content-Type per fixture).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKubectl, repoRoot } from '../test/helpers/tools.ts';
import type { KubectlVersion } from '../test/helpers/tools.ts';

const FIXTURE_DIR = join(repoRoot, 'test', 'fixtures', 'protobuf');

interface Resource {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  subresources?: { subresource: string; group: string; version: string; kind: string; verbs: string[] }[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RESOURCES: Resource[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', namespaced: true },
  {
    group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true,
    subresources: [{ subresource: 'token', group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }],
  },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true },
  { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', namespaced: true },
  { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', kind: 'PriorityClass', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false },
  { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews', kind: 'SelfSubjectReview', namespaced: false },
];

/** A command whose request body we want; `dryRun` says whether `--dry-run=client -o json` gives the expected JSON. */
interface Capture {
  name: string;
  args: string[];
  dryRun: boolean;
  /** Expected JSON when there is no dry-run form. */
  expected?: Record<string, unknown>;
}

const CAPTURES: Capture[] = [
  { name: 'create-namespace', args: ['create', 'namespace', 'x'], dryRun: true },
  { name: 'create-configmap', args: ['create', 'configmap', 'c', '--from-literal=a=b'], dryRun: true },
  { name: 'create-secret-generic', args: ['create', 'secret', 'generic', 's', '--from-literal=k=v'], dryRun: true },
  { name: 'create-deployment', args: ['create', 'deployment', 'd', '--image=nginx', '--replicas=2', '--port=80'], dryRun: true },
  { name: 'create-deployment-zero', args: ['create', 'deployment', 'z', '--image=nginx', '--replicas=0'], dryRun: true },
  { name: 'create-job', args: ['create', 'job', 'j', '--image=busybox', '--', 'sh', '-c', 'echo hi'], dryRun: true },
  { name: 'create-cronjob', args: ['create', 'cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *'], dryRun: true },
  { name: 'create-service-clusterip', args: ['create', 'service', 'clusterip', 's', '--tcp=80:8080'], dryRun: true },
  { name: 'create-service-nodeport', args: ['create', 'service', 'nodeport', 'np', '--tcp=443:https', '--node-port=30443'], dryRun: true },
  { name: 'create-serviceaccount', args: ['create', 'serviceaccount', 'sa'], dryRun: true },
  { name: 'create-quota', args: ['create', 'quota', 'q', '--hard=cpu=1500m,memory=1Gi,pods=10'], dryRun: true },
  { name: 'create-priorityclass', args: ['create', 'priorityclass', 'high', '--value=1000', '--description=high priority', '--preemption-policy=Never'], dryRun: true },
  { name: 'create-pdb', args: ['create', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=50%'], dryRun: true },
  { name: 'create-ingress', args: ['create', 'ingress', 'ing', '--class=nginx', '--rule=foo.com/bar*=svc:8080,tls=my-cert', '--default-backend=defsvc:http'], dryRun: true },
  { name: 'create-role', args: ['create', 'role', 'r', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=a'], dryRun: true },
  { name: 'create-rolebinding', args: ['create', 'rolebinding', 'rb', '--role=r', '--user=alice', '--serviceaccount=default:sa', '--group=devs'], dryRun: true },
  { name: 'create-clusterrole', args: ['create', 'clusterrole', 'cr', '--verb=get', '--non-resource-url=/healthz'], dryRun: true },
  { name: 'create-clusterrole-aggregated', args: ['create', 'clusterrole', 'agg', '--aggregation-rule=a=b'], dryRun: true },
  {
    name: 'create-token',
    args: ['create', 'token', 'default', '--duration=1h', '--audience=api', '--bound-object-kind=Secret', '--bound-object-name=s', '--bound-object-uid=0b5c2f0a-1111-2222-3333-444455556666'],
    dryRun: false,
    expected: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      spec: {
        audiences: ['api'],
        expirationSeconds: 3600,
        boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's', uid: '0b5c2f0a-1111-2222-3333-444455556666' },
      },
      status: { token: '', expirationTimestamp: null },
    },
  },
  {
    name: 'auth-can-i',
    args: ['auth', 'can-i', 'get', 'pods'],
    dryRun: false,
    expected: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
      status: { allowed: false },
    },
  },
  {
    name: 'auth-whoami',
    args: ['auth', 'whoami'],
    dryRun: false,
    expected: {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {},
      status: { userInfo: {} },
    },
  },
  // Sent as JSON (resource builder); kept to record that fact.
  { name: 'delete-configmap', args: ['delete', 'configmap', 'c'], dryRun: false },
  {
    // drain deletes pods through the typed clientset: a protobuf DeleteOptions.
    name: 'drain-delete-pod',
    args: ['drain', 'n1', '--disable-eviction', '--force', '--grace-period=7', '--timeout=20s'],
    dryRun: false,
    expected: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 7 },
  },
];

interface Recorded {
  method: string;
  path: string;
  contentType: string;
  accept: string;
  body: Buffer;
}

function aggregatedDiscovery(core: boolean): unknown {
  const groups = new Map<string, Resource[]>();
  for (const r of RESOURCES) {
    if ((r.group === '') !== core) continue;
    groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [...groups].map(([group, resources]) => ({
      metadata: { name: group },
      versions: [
        {
          version: 'v1',
          freshness: 'Current',
          resources: resources.map((r) => ({
            resource: r.resource,
            singularResource: r.kind.toLowerCase(),
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            verbs: ALL_VERBS,
            subresources: (r.subresources ?? []).map((s) => ({
              subresource: s.subresource,
              responseKind: { group: s.group, version: s.version, kind: s.kind },
              verbs: s.verbs,
            })),
          })),
        },
      ],
    })),
  };
}

/** The object a create returns: enough for kubectl to print `<kind>/<name> created` or a review result. */
function createResponse(path: string): Record<string, unknown> {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const apiVersion = parts[0] === 'api' ? 'v1' : `${parts[1]}/${parts[2]}`;
  const nsIndex = parts.indexOf('namespaces');
  const namespace = nsIndex >= 0 && parts.length > nsIndex + 2 ? parts[nsIndex + 1] : undefined;
  const resource = parts[parts.length - 1] ?? '';
  const known = RESOURCES.find((r) => r.resource === resource);
  const metadata = { name: 'captured', namespace, uid: '00000000-0000-0000-0000-000000000001', resourceVersion: '1' };
  if (resource === 'token') {
    return { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata, spec: {}, status: { token: 'fake-token', expirationTimestamp: '2030-01-01T00:00:00Z' } };
  }
  if (resource === 'selfsubjectaccessreviews') {
    return { kind: 'SelfSubjectAccessReview', apiVersion, metadata: {}, spec: {}, status: { allowed: true } };
  }
  if (resource === 'selfsubjectreviews') {
    return { kind: 'SelfSubjectReview', apiVersion, metadata: {}, status: { userInfo: { username: 'admin', groups: ['system:masters'] } } };
  }
  return { kind: known?.kind ?? 'Unknown', apiVersion, metadata };
}

const NODE = { kind: 'Node', apiVersion: 'v1', metadata: { name: 'n1', uid: 'n1-uid', resourceVersion: '3' }, spec: {} };
const POD = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'p1', namespace: 'default', uid: 'p1-uid', resourceVersion: '4' },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Running' },
};
/** The drain capture deletes p1 once; later GETs must see it gone. Reset per command. */
let podDeleted = false;

async function startServer(dir: string): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const requests: Recorded[] = [];
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const bare = path.split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      const send = (status: number, body: unknown, contentType = 'application/json'): void => {
        res.writeHead(status, { 'Content-Type': contentType });
        res.end(JSON.stringify(body));
      };
      if (method === 'GET' && bare === '/version') {
        return send(200, { major: '1', minor: '35', gitVersion: 'v1.35.0', platform: 'linux/amd64' });
      }
      if (method === 'GET' && (bare === '/api' || bare === '/apis')) {
        return send(200, aggregatedDiscovery(bare === '/api'), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
      }
      if (method === 'GET' && bare.startsWith('/openapi')) {
        return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      }
      if (method === 'GET' && bare === '/api/v1/nodes/n1') return send(200, NODE);
      if (method === 'GET' && bare === '/api/v1/pods') {
        return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: podDeleted ? [] : [POD] });
      }
      if (method === 'GET' && bare === '/api/v1/namespaces/default/pods/p1') {
        return podDeleted
          ? send(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, details: { name: 'p1', kind: 'pods' } })
          : send(200, POD);
      }
      requests.push({
        method,
        path,
        contentType: String(req.headers['content-type'] ?? ''),
        accept: String(req.headers['accept'] ?? ''),
        body: Buffer.concat(chunks),
      });
      if (method === 'POST') return send(201, createResponse(path));
      if (method === 'PATCH' && bare === '/api/v1/nodes/n1') return send(200, { ...NODE, spec: { unschedulable: true } });
      if (method === 'DELETE' && bare === '/api/v1/namespaces/default/pods/p1') {
        podDeleted = true;
        return send(200, POD);
      }
      if (method === 'DELETE') {
        return send(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'c', kind: 'configmaps' } });
      }
      return send(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', message: `${bare} not found`, code: 404 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function kubeconfigFor(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: capture, cluster: {server: "' + url + '", insecure-skip-tls-verify: true}}]',
    'users: [{name: capture, user: {token: capture-token}}]',
    'contexts: [{name: capture, context: {cluster: capture, user: capture, namespace: default}}]',
    'current-context: capture',
    '',
  ].join('\n');
}

interface IndexEntry {
  fixture: string;
  kubectl: KubectlVersion;
  command: string;
  method: string;
  path: string;
  contentType: string;
  accept: string;
  expectedFrom: 'dry-run' | 'hand-written';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nanokube-capture-'));
  const server = await startServer(dir);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigFor(server.url));
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const index: IndexEntry[] = [];
  const notes: string[] = [];
  try {
    for (const version of ['1.35', '1.32'] as KubectlVersion[]) {
      for (const capture of CAPTURES) {
        server.requests.length = 0;
        podDeleted = false;
        const result = await runKubectl(version, capture.args, { kubeconfig });
        const sent = server.requests.filter((r) => r.method !== 'GET');
        const protobufRequests = sent.filter((r) => r.contentType.includes('protobuf'));
        const summary = sent.map((r) => `${r.method} ${r.path} [${r.contentType}]`).join('; ');
        notes.push(`kubectl ${version} ${capture.args.join(' ')}: exit ${result.code}; ${summary || 'no writes'}`);
        if (result.code !== 0) notes.push(`  stderr: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`);
        const request = protobufRequests[0];
        if (!request) continue;
        const fixture = `kubectl-${version}-${capture.name}`;
        let expected = capture.expected;
        if (capture.dryRun) {
          // Flags go before a `--` that starts the container command.
          const split = capture.args.includes('--') ? capture.args.indexOf('--') : capture.args.length;
          const dryArgs = [...capture.args.slice(0, split), '--dry-run=client', '-o', 'json', ...capture.args.slice(split)];
          const dry = await runKubectl(version, dryArgs, { kubeconfig });
          if (dry.code !== 0) throw new Error(`dry-run of ${capture.name} failed: ${dry.stderr}`);
          expected = JSON.parse(dry.stdout) as Record<string, unknown>;
        }
        if (!expected) {
          notes.push(`  no expected JSON for ${fixture}; write one by hand`);
          continue;
        }
        writeFileSync(join(FIXTURE_DIR, `${fixture}.bin`), request.body);
        writeFileSync(join(FIXTURE_DIR, `${fixture}.json`), JSON.stringify(expected, null, 2) + '\n');
        index.push({
          fixture,
          kubectl: version,
          command: `kubectl ${capture.args.join(' ')}`,
          method: request.method,
          path: request.path,
          contentType: request.contentType,
          accept: request.accept,
          expectedFrom: capture.dryRun ? 'dry-run' : 'hand-written',
        });
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(join(FIXTURE_DIR, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  console.log(notes.join('\n'));
  console.log(`wrote ${index.length} fixtures to ${FIXTURE_DIR}`);
}

await main();
