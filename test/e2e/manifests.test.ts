// Auto-deployed manifests: files dropped into <data>/manifests/ of a running cluster are applied by
// server-side apply within seconds, changes update the objects, unchanged files are not re-applied,
// bad documents are logged with their file and index, and only opted-in objects leave with their file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait.ts';

interface ConfigMap {
  metadata: { resourceVersion: string; managedFields?: Array<{ manager: string; operation: string }> };
  data?: Record<string, string>;
}

const appYaml = (value: string) => `# two namespaced objects, one without a namespace (goes to "default")
apiVersion: v1
kind: Namespace
metadata:
  name: mf-test
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: mf-cm
  namespace: mf-test
data:
  value: "${value}"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: mf-default
  annotations:
    nanokube.io/delete-with-file: "true"
data:
  value: "${value}"
`;

test('manifests in <data>/manifests are applied, updated, checksummed, and deleted only when opted in', async () => {
  const cluster = await startCluster();
  try {
    const dataDir = path.join(cluster.home, cluster.name);
    const dir = path.join(dataDir, 'manifests');
    const logFile = path.join(dataDir, 'server.log');
    await waitFor(() => fs.existsSync(dir), { timeoutMs: 10_000, what: 'the server to create <data>/manifests' });

    const getCm = async (name: string, ns: string): Promise<ConfigMap | undefined> => {
      const r = await cluster.kubectl(['get', 'configmap', name, '-n', ns, '-o', 'json', '--show-managed-fields']);
      return r.code === 0 ? (JSON.parse(r.stdout) as ConfigMap) : undefined;
    };

    // Applied within 5 s of being dropped in.
    fs.writeFileSync(path.join(dir, 'app.yaml'), appYaml('one'));
    const first = await waitFor(async () => (await getCm('mf-cm', 'mf-test'))?.data?.value === 'one' && getCm('mf-cm', 'mf-test'), {
      timeoutMs: 5000,
      what: 'mf-cm from app.yaml',
    });
    const managers = (first!.metadata.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`);
    assert.ok(managers.includes('nanokube-manifests/Apply'), `applied by server-side apply as nanokube-manifests: ${managers.join(', ')}`);
    assert.equal((await getCm('mf-default', 'default'))?.data?.value, 'one', 'an object without a namespace goes to "default"');

    // A changed file updates the object within 5 s.
    fs.writeFileSync(path.join(dir, 'app.yaml'), appYaml('two'));
    await waitFor(async () => (await getCm('mf-cm', 'mf-test'))?.data?.value === 'two', { timeoutMs: 5000, what: 'mf-cm to be updated to "two"' });

    // The checksum of every applied file is kept in the data dir.
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'manifests.state.json'), 'utf8')) as { files: Record<string, { checksum: string }> };
    assert.match(state.files['app.yaml']?.checksum ?? '', /^[0-9a-f]{64}$/);

    // Rewriting a file with the same bytes does not apply it again (the log counts applications),
    // while a real change in another file in the same burst is applied.
    const appliedLines = () => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"manifest applied"') && l.includes('"file":"app.yaml"')).length;
    const before = appliedLines();
    assert.equal(before, 2, 'app.yaml was applied twice so far (create, change)');
    fs.writeFileSync(path.join(dir, 'app.yaml'), appYaml('two'));
    // One document is bad: the good one is applied, the bad one is logged with file and index.
    fs.writeFileSync(
      path.join(dir, 'other.yml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf-other\ndata:\n  a: "1"\n---\napiVersion: v1\nkind: NoSuchKind\nmetadata:\n  name: x\n',
    );
    await waitFor(async () => (await getCm('mf-other', 'default'))?.data?.a === '1', { timeoutMs: 5000, what: 'mf-other from other.yml' });
    const errorLine = await waitFor(
      () => fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"manifest document not applied"') && l.includes('"file":"other.yml"')),
      { timeoutMs: 5000, what: 'the error for other.yml to be logged' },
    );
    const logged = JSON.parse(errorLine) as { document: number; kind: string; error: string };
    assert.equal(logged.document, 1);
    assert.equal(logged.kind, 'NoSuchKind');
    assert.match(logged.error, /NoSuchKind/);
    assert.equal(appliedLines(), before, 'an unchanged app.yaml is not applied again');

    // Dotfiles and other extensions are ignored.
    fs.writeFileSync(path.join(dir, '.hidden.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf-hidden\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf-txt\n');

    // Removing the file deletes only the opted-in object; the other one stays, as in k3s.
    fs.rmSync(path.join(dir, 'app.yaml'));
    await waitFor(async () => (await getCm('mf-default', 'default')) === undefined, { timeoutMs: 5000, what: 'mf-default to be deleted with its file' });
    assert.equal((await getCm('mf-cm', 'mf-test'))?.data?.value, 'two', 'objects without the annotation outlive their file');
    assert.equal(await getCm('mf-hidden', 'default'), undefined);
    assert.equal(await getCm('mf-txt', 'default'), undefined);

    // Checksums survive a restart: an unchanged file is skipped, a file added while stopped is applied.
    fs.writeFileSync(path.join(dir, 'other.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf-other\ndata:\n  a: "2"\n');
    await waitFor(async () => (await getCm('mf-other', 'default'))?.data?.a === '2', { timeoutMs: 5000, what: 'the fixed other.yml to be applied' });
    await waitFor(
      () => (JSON.parse(fs.readFileSync(path.join(dataDir, 'manifests.state.json'), 'utf8')) as typeof state).files['other.yml']?.checksum,
      { timeoutMs: 5000, what: 'the checksum of the fixed other.yml to be stored' },
    );
    const stop = await cluster.cli(['stop', '--name', cluster.name]);
    assert.equal(stop.code, 0, stop.stderr);
    fs.writeFileSync(path.join(dir, 'later.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf-later\n');
    const restarted = await cluster.cli(['start', '--name', cluster.name, '--no-merge-kubeconfig']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const readyLines = await waitFor(
      () => {
        const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"component ready"') && l.includes('"name":"manifests"'));
        return lines.length >= 2 && lines;
      },
      { timeoutMs: 10_000, what: 'the manifests component to report after the restart' },
    );
    assert.match(readyLines[1]!, /"detail":"1 applied, 1 unchanged"/, 'later.yaml is applied, the unchanged other.yml is not');
    assert.notEqual(await getCm('mf-later', 'default'), undefined);
  } finally {
    await cluster.destroy();
  }
});
