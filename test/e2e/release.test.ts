// The release executable runs on its own: copied into an empty folder, with no node on PATH and
// no access to the repo's node_modules, it prints its version and runs a cluster on SQLite.
// Builds release/out/nanokube-linux-x64 first unless an existing one is newer than the sources
// (NANOKUBE_RELEASE_REBUILD=1 forces a build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runKubectl } from '../helpers/tools.ts';
import { dockerAvailable } from '../helpers/docker.ts';
import { withTempDir } from '../helpers/wait.ts';

const releaseBinary = join(repoRoot, 'release/out/nanokube-linux-x64');
/** What the executable is made from; a release older than any of these is rebuilt. */
const sources = ['src', 'embedded', 'release/build.mjs', 'package.json', 'package-lock.json'];

async function newestMtime(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: err?.killed ? `${stderr}\n[killed after ${opts.timeoutMs} ms]` : stderr });
    });
  });
}

/** Builds the release when missing or stale; returns the build time in ms, or undefined if reused. */
async function ensureRelease(): Promise<number | undefined> {
  let built = 0;
  try {
    built = (await stat(releaseBinary)).mtimeMs;
  } catch {
    // not built yet
  }
  const newestSource = Math.max(...(await Promise.all(sources.map((s) => newestMtime(join(repoRoot, s))))));
  if (built > newestSource && process.env.NANOKUBE_RELEASE_REBUILD !== '1') return undefined;
  const started = performance.now();
  const result = await run(process.execPath, [join(repoRoot, 'release/build.mjs')], {
    cwd: repoRoot,
    env: { ...(process.env as Record<string, string>) },
    timeoutMs: 300_000,
  });
  assert.equal(result.code, 0, `release build failed:\n${result.stderr}`);
  return performance.now() - started;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

test('release executable runs without node or the repo', { timeout: 600_000 }, async (t) => {
  const buildMs = await ensureRelease();
  const size = (await stat(releaseBinary)).size;
  t.diagnostic(`release ${buildMs === undefined ? 'reused (newer than sources)' : `built in ${Math.round(buildMs)} ms`}; size ${(size / 1024 / 1024).toFixed(1)} MB`);

  await withTempDir('release', async (dir) => {
    const binary = join(dir, 'nanokube-linux-x64');
    await copyFile(releaseBinary, binary);
    // PATH holds one empty folder: no node, nothing from the repo.
    const emptyBin = join(dir, 'bin');
    await mkdir(emptyBin);
    const home = join(dir, 'home');
    const env = { PATH: emptyBin, HOME: dir, NANOKUBE_HOME: home };
    for (const p of env.PATH.split(':')) assert.equal(await isExecutable(join(p, 'node')), false, `node found in ${p}`);

    await t.test('version', async () => {
      const result = await run(binary, ['version'], { cwd: dir, env, timeoutMs: 30_000 });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^nanokube \S+/);
      // The SEA must not print Node's "experimental feature" warning or any other noise.
      assert.equal(result.stderr, '');
    });

    await t.test('start, use and stop a cluster on SQLite', async (st) => {
      // The server wants a Docker engine for its kubelet; without one this step cannot mean anything.
      if (!(await dockerAvailable())) {
        st.skip('Docker is not running (scripts/ensure-docker.sh starts it)');
        return;
      }
      const name = 'release-e2e';
      const cli = (args: string[], timeoutMs = 90_000) => run(binary, [...args, '--name', name], { cwd: dir, env, timeoutMs });
      try {
        const started = await cli(['start', '--api-port', '0', '--no-merge-kubeconfig', '--bind-address', '127.0.0.1']);
        assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`);
        const kubeconfig = join(home, name, 'kubeconfig.yaml');

        const version = await runKubectl('1.32', ['version', '-o', 'json'], { kubeconfig, timeoutMs: 30_000 });
        assert.equal(version.code, 0, version.stderr);
        assert.ok((JSON.parse(version.stdout) as { serverVersion?: unknown }).serverVersion, version.stdout);

        // SQLite came from the addon embedded in the executable, unpacked under NANOKUBE_HOME...
        const cached = await readdir(join(home, '.cache'));
        assert.equal(cached.length, 1);
        await access(join(home, '.cache', cached[0]!, 'better_sqlite3.node'));
        // ...and the running server has nothing from the repo mapped (no node_modules addon, no sources).
        const pid = Number((await readFile(join(home, name, 'server.pid'), 'utf8')).trim());
        assert.ok(pid > 0);
        const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
        assert.ok(!maps.includes(repoRoot), `server maps files from ${repoRoot}`);
        assert.ok(maps.includes(join(home, '.cache')), 'server should map the unpacked sqlite addon');

        // TODO(cli): extend with kubectl apply/get of real objects and a pod on the test image
        // (ensureTestImage) once the API handlers and the kubelet land.

        const stopped = await cli(['stop']);
        assert.equal(stopped.code, 0, `${stopped.stdout}\n${stopped.stderr}`);
      } finally {
        // Whatever happened above: no server and no Docker objects left behind.
        await cli(['delete']);
      }
    });
  });
});
