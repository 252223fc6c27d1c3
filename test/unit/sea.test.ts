import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSea, materializeAsset, selfCommand, sqliteNativeBinding } from '../../src/util/sea.ts';
import { repoRoot } from '../helpers/tools.ts';
import { withTempDir } from '../helpers/wait.ts';

test('outside a SEA: not a SEA, no embedded addon, re-run through node and the script', () => {
  assert.equal(isSea(), false);
  assert.equal(sqliteNativeBinding(), undefined);
  const self = selfCommand();
  assert.equal(self[0], process.execPath);
  assert.equal(self.at(-1), process.argv[1]);
});

test('materializeAsset writes once into a folder named by the content hash', async () => {
  await withTempDir('sea', async (cache) => {
    const bytes = randomBytes(4096);
    const path = materializeAsset(bytes, 'addon.node', cache);
    assert.equal(path, join(cache, createHash('sha256').update(bytes).digest('hex'), 'addon.node'));
    assert.deepEqual(await readFile(path), bytes);
    const firstWrite = (await stat(path)).mtimeMs;
    assert.equal(materializeAsset(bytes, 'addon.node', cache), path);
    assert.equal((await stat(path)).mtimeMs, firstWrite, 'an existing copy is reused, not rewritten');
    const other = materializeAsset(randomBytes(16), 'addon.node', cache);
    assert.notEqual(other, path);
  });
});

test('materializeAsset from several processes at once yields one complete file', async () => {
  await withTempDir('sea', async (cache) => {
    const seaModule = JSON.stringify(join(repoRoot, 'src/util/sea.ts'));
    // Same 8 MB in every process (seeded by a fixed pattern), written at the same moment.
    const script = `import { materializeAsset } from ${seaModule};
      const bytes = Buffer.alloc(8 << 20, 'nanokube');
      process.stdout.write(materializeAsset(bytes, 'blob.bin', ${JSON.stringify(cache)}));`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, out, err }));
        }),
      ),
    );
    for (const r of results) assert.equal(r.code, 0, r.err);
    const paths = new Set(results.map((r) => r.out));
    assert.equal(paths.size, 1);
    const [path] = paths;
    assert.deepEqual(await readFile(path!), Buffer.alloc(8 << 20, 'nanokube'));
    assert.deepEqual(await readdir(join(path!, '..')), ['blob.bin'], 'no temp files left behind');
  });
});
