// Pure pieces of the Docker runtime: stream demultiplexing, image references, CIDR math, the
// mapping of resources and security settings, and the naming scheme.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { containerCreateOptions, resourceOptions, securityOptions } from '../../src/runtime/docker/containers.ts';
import { pullArgs } from '../../src/runtime/docker/images.ts';
import { runtimeName } from '../../src/runtime/docker/labels.ts';
import { demux } from '../../src/runtime/docker/logs.ts';
import { firstAddress } from '../../src/runtime/docker/network.ts';
import { isValidReference } from '../../src/runtime/reference.ts';

function frame(stream: number, text: string): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([head, Buffer.from(text)]);
}

test('demux splits frames, even when chunks cut headers and payloads', async () => {
  const all = Buffer.concat([frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, 'x'.repeat(70_000))]);
  for (const cut of [1, 3, 8, 9, 17, 4096]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < all.length; i += cut) chunks.push(all.subarray(i, i + cut));
    const out: Array<[string, number]> = [];
    const merged = new Map<string, number>();
    for await (const c of demux(Readable.from(chunks))) merged.set(c.stream, (merged.get(c.stream) ?? 0) + c.data.length);
    out.push(...merged);
    assert.deepEqual(out.sort(), [['stderr', 5], ['stdout', 70_006]], `cut ${cut}`);
  }
});

test('image references: validity and pull arguments', () => {
  for (const ok of ['busybox', 'nginx:1.27', 'localhost:5000/app', 'registry.k8s.io/pause:3.9', `a/b@sha256:${'0'.repeat(64)}`]) {
    assert.equal(isValidReference(ok), true, ok);
  }
  for (const bad of ['Busybox', 'a b', 'nginx:', ':tag', 'a//b']) assert.equal(isValidReference(bad), false, bad);
  assert.deepEqual(pullArgs('busybox'), { fromImage: 'busybox', tag: 'latest' });
  assert.deepEqual(pullArgs('localhost:5000/app'), { fromImage: 'localhost:5000/app', tag: 'latest' });
  assert.deepEqual(pullArgs('localhost:5000/app:v2'), { fromImage: 'localhost:5000/app', tag: 'v2' });
});

test('first address of a CIDR is the gateway', () => {
  assert.equal(firstAddress('10.42.0.0/24'), '10.42.0.1');
  assert.equal(firstAddress('10.42.3.77/16'), '10.42.0.1');
  assert.throws(() => firstAddress('10.42.0.0/33'), /invalid/);
});

test('resources: millicores to shares and quota, memory without extra swap', () => {
  assert.deepEqual(resourceOptions({ cpuRequestMillis: 250, cpuLimitMillis: 500, memoryLimitBytes: 64 << 20 }), {
    CpuShares: 256,
    CpuPeriod: 100_000,
    CpuQuota: 50_000,
    Memory: 64 << 20,
    MemorySwap: 64 << 20,
  });
  assert.deepEqual(resourceOptions({ cpuRequestMillis: 1, cpuLimitMillis: 1 }), { CpuShares: 2, CpuPeriod: 100_000, CpuQuota: 1000 });
  assert.deepEqual(resourceOptions({}), {});
});

test('security: user, group, capabilities, read-only root', () => {
  assert.deepEqual(securityOptions({ runAsUser: 1000, runAsGroup: 3000, capAdd: ['NET_ADMIN'], capDrop: ['ALL'], readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }), {
    user: '1000:3000',
    host: { ReadonlyRootfs: true, CapAdd: ['NET_ADMIN'], CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
});

test('container options: command/args semantics, namespaces, labels, name', () => {
  const pod = { uid: 'abcdef0123456789', namespace: 'ns', name: 'p' };
  const o = containerCreateOptions('c1', { 'nanokube.test': 'true' }, 'sb1', {
    pod,
    name: 'app',
    image: 'img',
    args: ['--x'],
    shareProcessNamespace: true,
    mounts: [{ hostPath: '/h', containerPath: '/c', readOnly: true }],
    restartCount: 3,
    specHash: 'abc',
  });
  assert.equal(o.name, 'k8s_app_p_ns_abcdef01_3');
  assert.equal(o.Entrypoint, undefined); // no command: the image entrypoint stays
  assert.deepEqual(o.Cmd, ['--x']);
  assert.equal(o.HostConfig?.NetworkMode, 'container:sb1');
  assert.equal(o.HostConfig?.IpcMode, 'container:sb1');
  assert.equal(o.HostConfig?.PidMode, 'container:sb1');
  assert.deepEqual(o.HostConfig?.Binds, ['/h:/c:ro']);
  assert.equal(o.Labels?.['nanokube.container.restart'], '3');
  assert.equal(o.Labels?.['nanokube.container.hash'], 'abc');
  assert.equal(o.Labels?.['nanokube.cluster'], 'c1');
  assert.equal(runtimeName('POD', pod, 0), 'k8s_POD_p_ns_abcdef01_0');
});
