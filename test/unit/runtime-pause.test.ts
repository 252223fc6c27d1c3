// The embedded pause binary: regenerates byte for byte from scripts/gen-pause.ts, is a static
// ELF, and exits 0 at once on SIGTERM and SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import pauseJson from '../../embedded/pause/pause-amd64.json' with { type: 'json' };
import { pauseJson as regenerate } from '../../scripts/gen-pause.ts';
import { singleFileTar } from '../../src/runtime/docker/pause.ts';
import { isDynamicallyLinked } from '../helpers/docker.ts';
import { waitFor, withTempDir } from '../helpers/wait.ts';

test('embedded pause binary matches what gen-pause.ts assembles', () => {
  assert.deepEqual(regenerate(), pauseJson);
  const bin = Buffer.from(pauseJson.base64, 'base64');
  assert.equal(createHash('sha256').update(bin).digest('hex'), pauseJson.sha256);
  assert.ok(bin.length < 512, `${bin.length} bytes`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`pause exits 0 on ${signal}`, { skip: process.arch !== 'x64' && 'the embedded binary is x86-64' }, async () => {
    await withTempDir('pause', async (dir) => {
      const path = join(dir, 'pause');
      await writeFile(path, Buffer.from(pauseJson.base64, 'base64'), { mode: 0o755 });
      assert.equal(await isDynamicallyLinked(path), false);
      const child = spawn(path, { stdio: 'ignore' });
      try {
        await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
        const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
        // Signal only once the program waits in rt_sigtimedwait (syscall 128), i.e. after it has
        // blocked its signals; before that the default action would kill it and prove nothing.
        await waitFor(async () => (await readFile(`/proc/${child.pid}/syscall`, 'utf8')).startsWith('128 '), {
          what: 'pause to wait for signals',
          timeoutMs: 5000,
          intervalMs: 5,
        });
        child.kill(signal);
        assert.deepEqual(await exited, [0, null]);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });
}

test('single-file tar is a valid ustar archive', () => {
  const tar = singleFileTar('pause', Buffer.from('abc'));
  assert.equal(tar.length, 512 + 512 + 1024);
  assert.equal(tar.subarray(0, 5).toString(), 'pause');
  assert.equal(tar.subarray(257, 262).toString(), 'ustar');
  assert.equal(parseInt(tar.subarray(124, 135).toString(), 8), 3);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : tar[i]!;
  assert.equal(parseInt(tar.subarray(148, 154).toString(), 8), sum);
  assert.equal(tar.subarray(512, 515).toString(), 'abc');
});
