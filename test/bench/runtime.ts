// `npm run bench -- runtime [pods]`: time to get N pods (sandbox + one container) running through
// NodeRuntime vs the same work done with raw dockerode in the same run; infra image import time;
// sandbox stop time; and the fake runtime's pod rate for scale tests.
import Docker from 'dockerode';
import { dockerHttpTarget } from '../../src/runtime/docker/connect.ts';
import { removeClusterDockerObjects } from '../../src/runtime/docker/cleanup.ts';
import { ensurePauseImage } from '../../src/runtime/docker/pause.ts';
import { createDockerRuntime } from '../../src/runtime/docker/runtime.ts';
import { FakeEngine } from '../../src/runtime/fake/engine.ts';
import { createFakeRuntime } from '../../src/runtime/fake/runtime.ts';
import type { NodeRuntime } from '../../src/runtime/types.ts';
import { ensureTestImage, TEST_LABEL } from '../helpers/docker.ts';

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function viaRuntime(rt: NodeRuntime, image: string, pods: number, subnet: string): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < pods; i++) {
    const pod = { uid: `bench-rt-${i}-uid`, namespace: 'bench', name: `p${i}` };
    const sb = await rt.createSandbox({ pod, attempt: 0, ip: `${subnet}.${10 + i}`, hostname: pod.name, dns: { nameservers: ['10.43.0.10'], searches: [], options: ['ndots:5'] } });
    const id = await rt.createContainer(sb, { pod, name: 'app', image, command: ['sleep', '3600'], restartCount: 0, specHash: 'b' });
    await rt.startContainer(id);
  }
  return ms(t);
}

async function viaDockerode(docker: Docker, cluster: string, network: string, pause: string, image: string, pods: number, subnet: string, firstIp = 100): Promise<number> {
  const Labels = { 'nanokube.cluster': cluster, [TEST_LABEL]: 'true' };
  const t = process.hrtime.bigint();
  for (let i = 0; i < pods; i++) {
    const sb = await docker.createContainer({
      name: `raw-${cluster}-${i}`,
      Image: pause,
      Hostname: `r${i}`,
      Labels,
      HostConfig: { NetworkMode: network, IpcMode: 'shareable' },
      NetworkingConfig: { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: `${subnet}.${firstIp + i}` } } } },
    });
    await sb.start();
    const app = await docker.createContainer({
      name: `raw-${cluster}-${i}-app`,
      Image: image,
      Entrypoint: ['sleep', '3600'],
      Labels,
      HostConfig: { NetworkMode: `container:${sb.id}`, IpcMode: `container:${sb.id}` },
    });
    await app.start();
  }
  return ms(t);
}

export async function main(args: string[]): Promise<void> {
  const pods = Math.max(1, Math.min(50, Number(args[0] ?? 10)));
  const docker = new Docker(dockerHttpTarget());
  const image = await ensureTestImage();
  const cluster = `bench-rt-${process.pid}`;
  const subnet = `10.233.${process.pid % 250}`;
  try {
    const arch = (await docker.version()).Arch;
    const benchRef = `nanokube-bench/pause:${process.pid}`;
    let t = process.hrtime.bigint();
    await ensurePauseImage(docker, arch, benchRef);
    const importMs = ms(t);
    await docker.getImage(benchRef).remove({ force: true });

    const rt = createDockerRuntime({ cluster, labels: { [TEST_LABEL]: 'true' } });
    const pause = await rt.ensureInfraImage();
    const net = await rt.ensureNetwork({ cidr: `${subnet}.0/24` });
    // Warm both paths once so neither pays first-use costs inside the measurement.
    await viaDockerode(docker, `${cluster}w`, net.name, pause, image, 1, subnet, 250);
    const raw = await viaDockerode(docker, cluster, net.name, pause, image, pods, subnet);
    const ours = await viaRuntime(rt, image, pods, subnet);

    const [sb] = await rt.listSandboxes({ podUid: 'bench-rt-0-uid' });
    for (const c of await rt.listContainers({ podUid: 'bench-rt-0-uid' })) await rt.stopContainer(c.id, 0);
    t = process.hrtime.bigint();
    await rt.stopSandbox(sb!.id);
    const stopMs = ms(t);

    const fake = createFakeRuntime({ cluster: 'bench-fake', engine: new FakeEngine({ images: [{ ref: image, cmd: ['sh'] }] }) });
    await fake.ensureNetwork({ cidr: '10.42.0.0/16' });
    const fakePods = 2000;
    t = process.hrtime.bigint();
    await viaRuntime(fake, image, fakePods, '10.42.0');
    const fakeMs = ms(t);

    console.log(`pause image import (268-byte static ELF):   ${importMs.toFixed(0)} ms`);
    console.log(`sandbox stop (SIGTERM to pause):            ${stopMs.toFixed(0)} ms`);
    console.log(`${pods} pods running, raw dockerode:            ${raw.toFixed(0)} ms (${(raw / pods).toFixed(0)} ms/pod)`);
    console.log(`${pods} pods running, NodeRuntime:              ${ours.toFixed(0)} ms (${(ours / pods).toFixed(0)} ms/pod)`);
    console.log(`NodeRuntime / raw:                          ${(ours / raw).toFixed(2)}x`);
    console.log(`fake runtime: ${fakePods} pods in ${fakeMs.toFixed(0)} ms (${((fakePods / fakeMs) * 1000).toFixed(0)} pods/s)`);
  } finally {
    await removeClusterDockerObjects(`${cluster}w`, docker).catch(() => undefined);
    await removeClusterDockerObjects(cluster, docker);
  }
}
