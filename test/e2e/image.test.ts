// `nanokube image import|ls|rm` against the real Docker engine, with images made locally: the busybox
// test image saved under a fresh tag, and a one-file image carrying nanokube's infra label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runNanokube } from '../helpers/cluster.ts';
import { docker, ensureTestImage } from '../helpers/docker.ts';
import { singleFileTar } from '../../src/runtime/docker/pause.ts';

interface Row {
  repository: string;
  tag: string;
  id: string;
  infra: boolean;
}

async function listed(env: NodeJS.ProcessEnv): Promise<Row[]> {
  const r = await runNanokube(['image', 'ls', '-o', 'json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Row[];
}

test('image import loads a docker save tarball, ls lists and marks infra images, rm removes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-image-'));
  const env = { ...process.env, NANOKUBE_HOME: dir };
  const suffix = randomBytes(4).toString('hex');
  const ref = `nanokube-test/imported:${suffix}`;
  const infraRef = `nanokube-test/infra-mark:${suffix}`;
  try {
    const base = await ensureTestImage();
    assert.equal((await docker(['tag', base, ref])).code, 0);
    const tarball = path.join(dir, 'image.tar');
    const saved = await docker(['save', '-o', tarball, ref]);
    assert.equal(saved.code, 0, saved.stderr);
    // Only the tarball has it now.
    assert.equal((await docker(['rmi', ref])).code, 0);
    assert.notEqual((await docker(['image', 'inspect', ref])).code, 0);

    const imported = await runNanokube(['image', 'import', tarball], { env });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, new RegExp(`Loaded image: ${ref}`));
    assert.equal((await docker(['image', 'inspect', ref])).code, 0, 'the engine has the imported image');

    // An image with nanokube's infra label (as the pause image has) is marked; the imported one is not.
    const rootfs = path.join(dir, 'rootfs.tar');
    fs.writeFileSync(rootfs, singleFileTar('marker', Buffer.from('x')));
    const made = await docker(['import', '--change', 'LABEL nanokube.infra=test', rootfs, infraRef]);
    assert.equal(made.code, 0, made.stderr);
    const rows = await listed(env);
    const mine = rows.find((r) => `${r.repository}:${r.tag}` === ref);
    assert.ok(mine, `image ls lists ${ref}`);
    assert.equal(mine.infra, false);
    assert.equal(rows.find((r) => `${r.repository}:${r.tag}` === infraRef)?.infra, true);
    const table = await runNanokube(['image', 'ls'], { env });
    assert.match(table.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE/);
    assert.match(table.stdout, new RegExp(`nanokube-test/infra-mark\\s+${suffix}\\s+[0-9a-f]{12}\\s+.+\\s+infra`));

    const removed = await runNanokube(['image', 'rm', ref, infraRef], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`Untagged: ${ref}`));
    assert.notEqual((await docker(['image', 'inspect', ref])).code, 0, 'the image is gone');
    assert.equal((await listed(env)).some((r) => `${r.repository}:${r.tag}` === ref), false);

    const again = await runNanokube(['image', 'rm', ref], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no such image/);

    const notTar = path.join(dir, 'not-a-tarball.tar');
    fs.writeFileSync(notTar, 'hello');
    const bad = await runNanokube(['image', 'import', notTar], { env });
    assert.notEqual(bad.code, 0, 'a file that is not a docker save tarball is refused');
    assert.match(bad.stderr, /did not load/);
    const missing = await runNanokube(['image', 'import', path.join(dir, 'missing.tar')], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
  } finally {
    await docker(['rmi', '-f', ref, infraRef]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
