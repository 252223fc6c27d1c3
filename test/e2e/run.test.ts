// `nanokube run -- CMD`: a throwaway cluster around one command, through the real CLI and kubectl
// 1.35. Every case checks that nothing is left behind: no cluster record or data dir under the
// (temporary) nanokube home and no Docker object labelled for the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nanokubeBin, runNanokube, type CliResult } from '../helpers/cluster.ts';
import { docker } from '../helpers/docker.ts';
import { kubectlPath } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';

function tempHome(): { home: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-run-'));
  // KUBECONFIG points at a file that must never be created: `run` never merges into the user's config.
  const env = { ...process.env, NANOKUBE_HOME: home, KUBECONFIG: path.join(home, 'user-kubeconfig') };
  return { home, env, cleanup: () => fs.rmSync(home, { recursive: true, force: true }) };
}

function clusterNameFrom(output: string): string {
  const m = /Starting cluster "(run-[0-9a-f]+)"/.exec(output);
  assert.ok(m, `the start-up messages name the cluster:\n${output}`);
  return m[1]!;
}

async function assertNothingLeft(home: string, name: string): Promise<void> {
  assert.deepEqual(fs.readdirSync(home).filter((f) => f !== 'user-kubeconfig'), [], 'no cluster record or data dir is left in the nanokube home');
  assert.equal(fs.existsSync(path.join(home, 'user-kubeconfig')), false, "the user's kubeconfig is never written");
  const filter = `label=nanokube.cluster=${name}`;
  const containers = await docker(['ps', '-a', '-q', '--filter', filter]);
  assert.equal(containers.code, 0, containers.stderr);
  assert.equal(containers.stdout.trim(), '', `no containers of ${name} are left`);
  const networks = await docker(['network', 'ls', '-q', '--filter', filter]);
  assert.equal(networks.stdout.trim(), '', `no networks of ${name} are left`);
  const volumes = await docker(['volume', 'ls', '-q', '--filter', filter]);
  assert.equal(volumes.stdout.trim(), '', `no volumes of ${name} are left`);
}

test('run -- kubectl get namespaces exits 0 and leaves nothing behind', async () => {
  const t = tempHome();
  try {
    const kubectl = await kubectlPath('1.35');
    const r = await runNanokube(['run', '--', kubectl, 'get', 'namespaces', '-o', 'name'], { env: t.env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    // The command's stdout is passed through untouched; our own messages go to stderr.
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
    const name = clusterNameFrom(r.stderr);
    assert.match(r.stderr, new RegExp(`Cluster "${name}" deleted`));
    assert.doesNotMatch(r.stderr, /server log/, 'no log tail when the command succeeds');
    await assertNothingLeft(t.home, name);
  } finally {
    t.cleanup();
  }
});

test("run returns the command's exit code, gives it KUBECONFIG and NANOKUBE_CLUSTER, and prints the server log tail on failure", async () => {
  const t = tempHome();
  try {
    const r = await runNanokube(['run', '--', 'sh', '-c', 'echo "cluster=$NANOKUBE_CLUSTER kubeconfig=$KUBECONFIG"; test -s "$KUBECONFIG" || exit 9; exit 5'], {
      env: t.env,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 5, r.stderr);
    const name = clusterNameFrom(r.stderr);
    assert.equal(r.stdout.trim(), `cluster=${name} kubeconfig=${path.join(t.home, name, 'kubeconfig.yaml')}`);
    const tail = /--- last (\d+) lines of the server log of cluster "([^"]+)" ---\n([\s\S]*?)--- end of server log ---/.exec(r.stderr);
    assert.ok(tail, `the server log tail is printed:\n${r.stderr}`);
    assert.equal(tail[2], name);
    assert.ok(Number(tail[1]) > 0 && Number(tail[1]) <= 50);
    assert.match(tail[3]!, /"msg":"ready"/, 'the tail holds the server log lines');
    await assertNothingLeft(t.home, name);
  } finally {
    t.cleanup();
  }
});

test('two runs at once on one machine both pass', async () => {
  const t = tempHome();
  try {
    const kubectl = await kubectlPath('1.35');
    const script = `${kubectl} create configmap mine --from-literal=cluster="$NANOKUBE_CLUSTER" && ${kubectl} get configmap mine -o jsonpath='{.data.cluster}'`;
    const [a, b] = await Promise.all([0, 1].map(() => runNanokube(['run', '--', 'sh', '-c', script], { env: t.env, timeoutMs: 180_000 })));
    for (const r of [a!, b!]) {
      assert.equal(r.code, 0, r.stderr);
      // Each command saw its own cluster: the object it created carries its own cluster's name.
      assert.equal(r.stdout.trim().split('\n').at(-1), clusterNameFrom(r.stderr));
    }
    assert.notEqual(clusterNameFrom(a!.stderr), clusterNameFrom(b!.stderr));
    await assertNothingLeft(t.home, clusterNameFrom(a!.stderr));
    await assertNothingLeft(t.home, clusterNameFrom(b!.stderr));
  } finally {
    t.cleanup();
  }
});

test('SIGTERM to nanokube run stops the command and deletes the cluster', async () => {
  const t = tempHome();
  try {
    const child = spawn(process.execPath, [nanokubeBin, 'run', '--', 'sh', '-c', 'echo command-started; exec sleep 120'], { env: t.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
    try {
      await waitFor(() => stdout.includes('command-started'), { timeoutMs: 90_000, what: 'the command to start inside nanokube run' });
      const name = clusterNameFrom(stderr);
      assert.ok(fs.existsSync(path.join(t.home, name)), 'the cluster exists while the command runs');
      child.kill('SIGTERM');
      const r = await Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`nanokube run did not exit after SIGTERM:\n${stderr}`)), 60_000).unref()),
      ]);
      // sleep died of the forwarded SIGTERM: 128 + 15.
      assert.equal(r.code, 143, r.stderr);
      assert.match(r.stderr, /got SIGTERM, passing it to the command/);
      await assertNothingLeft(t.home, name);
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    t.cleanup();
  }
});

test('--timeout stops the command with exit 124; --keep-on-failure keeps the cluster and says how to delete it', async () => {
  const t = tempHome();
  try {
    const timedOut = await runNanokube(['run', '--timeout', '1s', '--', 'sleep', '60'], { env: t.env, timeoutMs: 120_000 });
    assert.equal(timedOut.code, 124, timedOut.stderr);
    assert.match(timedOut.stderr, /did not finish within 1s/);
    await assertNothingLeft(t.home, clusterNameFrom(timedOut.stderr));

    const name = 'kept-run';
    const kept = await runNanokube(['run', '--name', name, '--keep-on-failure', '--', 'false'], { env: t.env, timeoutMs: 120_000 });
    try {
      assert.equal(kept.code, 1, kept.stderr);
      assert.match(kept.stderr, new RegExp(`nanokube delete --name ${name}`));
      const status = await runNanokube(['status', '--name', name, '-o', 'json'], { env: t.env });
      assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'running');
      // An existing cluster is never adopted (and then deleted) by run.
      const clash = await runNanokube(['run', '--name', name, '--', 'true'], { env: t.env });
      assert.equal(clash.code, 2);
      assert.match(clash.stderr, /already exists/);
    } finally {
      const del = await runNanokube(['delete', '--name', name], { env: t.env });
      assert.equal(del.code, 0, del.stderr);
    }
    await assertNothingLeft(t.home, name);
  } finally {
    t.cleanup();
  }
});

test('run reports a missing command with 127 and still deletes the cluster', async () => {
  const t = tempHome();
  try {
    const r = await runNanokube(['run', '--', 'nanokube-no-such-command-xyz'], { env: t.env, timeoutMs: 120_000 });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /cannot run nanokube-no-such-command-xyz/);
    await assertNothingLeft(t.home, clusterNameFrom(r.stderr));
  } finally {
    t.cleanup();
  }
});
