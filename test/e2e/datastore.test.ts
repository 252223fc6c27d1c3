// The datastore seen through kubectl: what kubectl was told is stored survives kill -9 of the server
// (SQLite), and `--datastore-endpoint etcd://...` keeps the cluster's objects in a real etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCluster } from '../helpers/cluster.ts';
import { findEtcd, startEtcd } from '../contract/etcd-server.ts';
import { waitFor } from '../helpers/wait.ts';

test('objects acknowledged to kubectl survive kill -9 of the server', async () => {
  const cluster = await startCluster();
  try {
    for (let i = 0; i < 5; i++) {
      const r = await cluster.kubectl(['create', 'configmap', `c${i}`, `--from-literal=i=${i}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const status = JSON.parse((await cluster.cli(['status', '--name', cluster.name, '-o', 'json'])).stdout) as { pid: number };
    process.kill(status.pid, 'SIGKILL');
    await waitFor(() => {
      try {
        const stat = fs.readFileSync(`/proc/${status.pid}/stat`, 'utf8');
        return / [ZX] /.test(stat.slice(stat.lastIndexOf(')')));
      } catch {
        return true;
      }
    }, { timeoutMs: 10_000, what: 'server process gone' });
    const again = await cluster.cli(['start', '--name', cluster.name, '--no-merge-kubeconfig']);
    assert.equal(again.code, 0, again.stderr);
    const got = await cluster.kubectl(['get', 'configmaps', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.data.i} {end}']);
    assert.equal(got.code, 0, got.stderr);
    for (let i = 0; i < 5; i++) assert.match(got.stdout, new RegExp(`c${i}=${i}`));
  } finally {
    await cluster.destroy();
  }
});

test('--datastore-endpoint keeps the cluster in etcd', async (t) => {
  const bin = findEtcd();
  if (!bin) {
    if (process.env.CI === 'true') assert.fail('etcd is not installed; .ci/run installs etcd-server via scripts/ensure-docker.sh');
    t.skip('etcd not installed (install Debian etcd-server)');
    return;
  }
  const etcd = await startEtcd(bin);
  try {
    const cluster = await startCluster({ args: ['--datastore-endpoint', etcd.endpoint] });
    try {
      const r = await cluster.kubectl(['create', 'configmap', 'in-etcd', '--from-literal=a=b']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await cluster.cli(['stop', '--name', cluster.name])).code, 0);
      // The endpoint is remembered: a plain restart must not fall back to an empty SQLite file.
      const again = await cluster.cli(['start', '--name', cluster.name, '--no-merge-kubeconfig']);
      assert.equal(again.code, 0, again.stderr);
      const got = await cluster.kubectl(['get', 'configmap', 'in-etcd', '-o', 'jsonpath={.data.a}']);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, 'b');
      // Nothing was written to the embedded SQLite file.
      assert.equal(fs.existsSync(`${cluster.home}/${cluster.name}/db/state.db`), false);
    } finally {
      await cluster.destroy();
    }
  } finally {
    await etcd.stop();
  }
});
