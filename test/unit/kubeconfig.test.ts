import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import {
  buildKubeconfig, defaultKubeconfigPath, kubeconfigFileFor, mergeIntoKubeconfig, readKubeconfigFile, removeFromKubeconfig,
  writeKubeconfig, type Kubeconfig,
} from '../../src/config/kubeconfig.ts';
import { ensurePki } from '../../src/pki/index.ts';
import { setLogSink } from '../../src/util/log.ts';
import { kubectlPath, runKubectl } from '../helpers/tools.ts';

setLogSink(() => {});

const PEMS = { caPem: 'CA-PEM\n', clientCertPem: 'CERT-PEM\n', clientKeyPem: 'KEY-PEM\n' };
const ours = (server = 'https://127.0.0.1:6443'): Kubeconfig => buildKubeconfig({ name: 'nanokube-dev', server, ...PEMS });

// Someone's existing kubeconfig, with the kinds of things a merge must not disturb.
const EXISTING = `# my clusters, hand-edited
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod # do not touch
  cluster:
    server: https://prod.example:443
    certificate-authority: /etc/prod/ca.crt
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: { audience: "prod" }
users:
- name: prod-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
contexts:
- name: prod
  context: {cluster: prod, user: prod-admin, namespace: payments}
current-context: prod
extensions:
- name: vendor
  extension: {x: 1}
`;

const parse = async (file: string) => YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
const named = (list: unknown, name: string) => (list as { name: string }[]).filter((e) => e.name === name);

describe('kubeconfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanokube-kubeconfig-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('builds a self-contained config and writes it 0600', async () => {
    const file = join(dir, 'own', 'kubeconfig.yaml');
    await mkdir(join(dir, 'own'));
    writeKubeconfig(file, buildKubeconfig({ name: 'nanokube-x', server: 'https://127.0.0.1:1', namespace: 'apps', ...PEMS }));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const kc = readKubeconfigFile(file);
    assert.equal(kc['current-context'], 'nanokube-x');
    assert.deepEqual(kc.contexts, [{ name: 'nanokube-x', context: { cluster: 'nanokube-x', user: 'nanokube-x', namespace: 'apps' } }]);
    const decode = (s: unknown) => Buffer.from(String(s), 'base64').toString();
    assert.equal(decode(kc.clusters[0]?.cluster['certificate-authority-data']), PEMS.caPem);
    assert.equal(decode(kc.users[0]?.user['client-certificate-data']), PEMS.clientCertPem);
    assert.equal(decode(kc.users[0]?.user['client-key-data']), PEMS.clientKeyPem);
  });

  it('merges next to an unrelated context, leaving it untouched, and makes ours current', async () => {
    const file = join(dir, 'merge.yaml');
    await writeFile(file, EXISTING, { mode: 0o640 });
    const before = YAML.parse(EXISTING) as Record<string, unknown>;
    mergeIntoKubeconfig(file, ours(), { makeCurrent: true });
    const after = await parse(file);
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      assert.deepEqual(named(after[section], 'prod').concat(named(after[section], 'prod-admin')),
        named(before[section], 'prod').concat(named(before[section], 'prod-admin')), section);
      assert.equal(named(after[section], 'nanokube-dev').length, 1, `ours in ${section}`);
    }
    assert.deepEqual(after.preferences, before.preferences);
    assert.deepEqual(after.extensions, before.extensions);
    assert.equal(after['current-context'], 'nanokube-dev');
    const text = await readFile(file, 'utf8');
    assert.match(text, /# my clusters, hand-edited/);
    assert.match(text, /- name: prod # do not touch/);
    assert.equal((await stat(file)).mode & 0o777, 0o640, 'existing mode kept');

    // Merging again changes nothing at all.
    mergeIntoKubeconfig(file, ours(), { makeCurrent: true });
    assert.equal(await readFile(file, 'utf8'), text);
  });

  it('replaces our entries in place when they change, and can leave current-context alone', async () => {
    const file = join(dir, 'replace.yaml');
    await writeFile(file, EXISTING);
    mergeIntoKubeconfig(file, ours(), { makeCurrent: false });
    assert.equal((await parse(file))['current-context'], 'prod');
    mergeIntoKubeconfig(file, ours('https://127.0.0.1:7443'), { makeCurrent: false });
    const clusters = (await parse(file)).clusters as { name: string; cluster: { server: string } }[];
    assert.deepEqual(clusters.map((c) => c.name), ['prod', 'nanokube-dev']);
    assert.equal(clusters[1]?.cluster.server, 'https://127.0.0.1:7443');
  });

  it('creates a missing file and directory with mode 0600, and fills kubectl-style null lists', async () => {
    const file = join(dir, 'fresh', '.kube', 'config');
    mergeIntoKubeconfig(file, ours(), { makeCurrent: true });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(readKubeconfigFile(file), ours());

    const nulls = join(dir, 'nulls.yaml');
    await writeFile(nulls, 'apiVersion: v1\nkind: Config\nclusters: null\ncontexts: null\nusers: null\ncurrent-context: ""\n');
    mergeIntoKubeconfig(nulls, ours(), { makeCurrent: true });
    assert.deepEqual(readKubeconfigFile(nulls).contexts, ours().contexts);
  });

  it('writes through a symlinked kubeconfig instead of replacing the link', async () => {
    const real = join(dir, 'dotfiles-config');
    const link = join(dir, 'link-config');
    await writeFile(real, EXISTING);
    await symlink(real, link);
    mergeIntoKubeconfig(link, ours(), { makeCurrent: true });
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal((await parse(real))['current-context'], 'nanokube-dev');
  });

  it('removes only our entries, unsets current-context, keeps the file', async () => {
    const file = join(dir, 'remove.yaml');
    await writeFile(file, EXISTING);
    mergeIntoKubeconfig(file, ours(), { makeCurrent: true });
    assert.equal(removeFromKubeconfig(file, 'nanokube-dev'), true);
    const after = await parse(file);
    const before = YAML.parse(EXISTING) as Record<string, unknown>;
    for (const section of ['clusters', 'users', 'contexts'] as const) assert.deepEqual(after[section], before[section]);
    assert.equal(after['current-context'], '');
    assert.match(await readFile(file, 'utf8'), /# do not touch/);

    assert.equal(removeFromKubeconfig(file, 'nanokube-dev'), false, 'second removal is a no-op');
    // A current-context that points elsewhere is kept.
    await writeFile(file, EXISTING);
    mergeIntoKubeconfig(file, ours(), { makeCurrent: false });
    removeFromKubeconfig(file, 'nanokube-dev');
    assert.equal((await parse(file))['current-context'], 'prod');
    assert.equal(removeFromKubeconfig(join(dir, 'absent.yaml'), 'nanokube-dev'), false);
    await assert.rejects(stat(join(dir, 'absent.yaml')), { code: 'ENOENT' });
  });

  it('refuses, naming the file, to touch a kubeconfig it cannot parse', async () => {
    const cases = {
      'broken.yaml': 'apiVersion: v1\nclusters:\n  - name: a\n   cluster: {server: x\n',
      'list.yaml': '- just\n- a list\n',
      'badsection.yaml': 'apiVersion: v1\nclusters: oops\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      const file = join(dir, name);
      await writeFile(file, text);
      assert.throws(() => mergeIntoKubeconfig(file, ours(), { makeCurrent: true }), (err: Error) => err.message.includes(file), name);
      assert.throws(() => removeFromKubeconfig(file, 'nanokube-dev'), (err: Error) => err.message.includes(file), name);
      assert.equal(await readFile(file, 'utf8'), text, `${name} left as it was`);
    }
  });

  describe('which file kubectl would write', () => {
    it('follows clientcmd GetDefaultFilename', async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, 'env', n)) as [string, string, string];
      await mkdir(join(dir, 'env'), { recursive: true });
      const table: [Record<string, string>, string][] = [
        [{ HOME: '/home/u' }, '/home/u/.kube/config'],
        [{ HOME: '/home/u', KUBECONFIG: '' }, '/home/u/.kube/config'],
        [{ KUBECONFIG: a }, a], // one file: that one, existing or not
        [{ KUBECONFIG: `${a}:${b}:${c}` }, c], // none exists: the last
        [{ KUBECONFIG: `${a}::${c}:${c}:` }, c], // empty parts and duplicates ignored
      ];
      for (const [env, want] of table) assert.equal(defaultKubeconfigPath(env), want, JSON.stringify(env));
      await writeFile(b, EXISTING);
      assert.equal(defaultKubeconfigPath({ KUBECONFIG: `${a}:${b}:${c}` }), b, 'first existing');
    });

    it('modifies our entry where it already lives', async () => {
      const [a, b] = ['first', 'second'].map((n) => join(dir, 'env2', n)) as [string, string];
      await mkdir(join(dir, 'env2'));
      await writeFile(a, EXISTING);
      mergeIntoKubeconfig(b, ours(), { makeCurrent: false });
      assert.equal(kubeconfigFileFor('nanokube-dev', { KUBECONFIG: `${a}:${b}` }), b);
      assert.equal(kubeconfigFileFor('nanokube-other', { KUBECONFIG: `${a}:${b}` }), a);
    });
  });
});

describe('kubeconfig with real kubectl and our PKI', () => {
  let dir: string;
  let kubectl: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanokube-kubeconfig-'));
    kubectl = await kubectlPath('1.35').catch(() => undefined);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('kubectl trusts the server and is recognised as the admin (Go TLS and x509 parsers)', async (t) => {
    if (!kubectl) return t.skip('kubectl 1.35 not available');
    const pki = await ensurePki(join(dir, 'pki'), { nodeName: 'n1' });
    const seen: string[] = [];
    const server = https.createServer(
      { cert: pki.apiServer.certPem, key: pki.apiServer.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        seen.push(`${req.url} ${String(peer.subject?.CN)} ${String(peer.subject?.O)}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ major: '1', minor: '35', gitVersion: 'v1.35.0-nanokube', platform: 'linux/amd64' }));
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const file = join(dir, 'config');
      await writeFile(file, EXISTING);
      await chmod(file, 0o600);
      for (const host of ['127.0.0.1', 'localhost']) {
        const kc = buildKubeconfig({
          name: 'nanokube-dev', server: `https://${host}:${port}`, caPem: pki.ca.certPem,
          clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem,
        });
        mergeIntoKubeconfig(file, kc, { makeCurrent: true });
        const result = await runKubectl('1.35', ['version', '-o', 'json', '--request-timeout=10s'], { kubeconfig: file, timeoutMs: 30_000 });
        assert.equal(result.code, 0, result.stderr);
        assert.equal((JSON.parse(result.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, 'v1.35.0-nanokube');
      }
      assert.ok(seen.length >= 2 && seen.every((s) => s.endsWith(' nanokube-admin system:masters')), seen.join('; '));
      const contexts = await runKubectl('1.35', ['config', 'get-contexts', '-o', 'name'], { kubeconfig: file });
      assert.deepEqual(contexts.stdout.trim().split('\n').sort(), ['nanokube-dev', 'prod']);
    } finally {
      server.close();
    }
  });
});
