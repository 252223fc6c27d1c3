// `npm run bench -- streaming [MiB]`: port-forward throughput (kubectl port-forward, WebSocket tunnel
// and SPDY, in-process and HTTPS kubelet) against a direct TCP read from the pod IP in the same run,
// and exec round-trip latency (`kubectl exec -- true`) against `docker exec` on the same container.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { startStreamingHarness } from '../e2e/streaming-harness.ts';
import { docker } from '../helpers/docker.ts';
import { runKubectl, spawnKubectl } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';

/** Reads everything the server sends on one connection; retries while the listener restarts. */
async function download(host: string, port: number, expect: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const got = await new Promise<number>((resolve) => {
      let n = 0;
      const s = net.connect({ host, port });
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('close', () => resolve(n));
      s.on('error', () => resolve(-1));
    });
    if (got === expect) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no complete ${expect}-byte download from ${host}:${port}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(args: string[]): Promise<void> {
  const mib = Number(args[0] ?? 64);
  const bytes = mib * 1024 * 1024;
  const h = await startStreamingHarness();
  const children: ChildProcess[] = [];
  try {
    const server = ['sh', '-c', `while true; do head -c ${bytes} /dev/zero | nc -l -p 9000; done`];
    const local = await h.createPod('bench-a', { node: 'node-a', containers: [{ name: 'src', command: server }] });
    await h.createPod('bench-b', { node: 'node-b', containers: [{ name: 'src', command: server }] });
    const mbps = (ms: number) => ((bytes / 1024 / 1024) / (ms / 1000)).toFixed(0);

    await download(local.ip, 9000, bytes); // warm-up
    const direct = await timed(() => download(local.ip, 9000, bytes));
    console.log(`direct TCP to pod IP            ${mib} MiB in ${direct.toFixed(0)} ms = ${mbps(direct)} MiB/s`);

    for (const pod of ['bench-a', 'bench-b']) {
      for (const [name, env] of [
        ['websocket tunnel', {}],
        ['spdy', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
      ] as const) {
        const child = await spawnKubectl('1.35', ['port-forward', `pod/${pod}`, ':9000'], { kubeconfig: h.kubeconfig, env });
        children.push(child);
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        const port = Number(await waitFor(() => /127\.0\.0\.1:(\d+)/.exec(out)?.[1], { what: 'port-forward', timeoutMs: 20_000 }));
        await download('127.0.0.1', port, bytes);
        const ms = await timed(() => download('127.0.0.1', port, bytes));
        const via = pod === 'bench-a' ? 'in-process kubelet' : 'HTTPS kubelet';
        console.log(`kubectl port-forward ${name.padEnd(16)} (${via.padEnd(18)}) ${mib} MiB in ${ms.toFixed(0)} ms = ${mbps(ms)} MiB/s (${(ms / direct).toFixed(1)}x direct)`);
        child.kill('SIGKILL');
      }
    }

    const runs = 10;
    const containerId = local.containers.src!;
    const kubectlExec: number[] = [];
    const spdyExec: number[] = [];
    const dockerExec: number[] = [];
    for (let i = 0; i < runs; i++) {
      kubectlExec.push(await timed(() => runKubectl('1.35', ['exec', 'bench-a', '--', 'true'], { kubeconfig: h.kubeconfig })));
      spdyExec.push(await timed(() => runKubectl('1.35', ['exec', 'bench-a', '--', 'true'], { kubeconfig: h.kubeconfig, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } })));
      dockerExec.push(await timed(() => docker(['exec', containerId, 'true'])));
    }
    console.log(`exec -- true, median of ${runs}: kubectl (websocket) ${median(kubectlExec).toFixed(0)} ms, kubectl (spdy) ${median(spdyExec).toFixed(0)} ms, docker exec ${median(dockerExec).toFixed(0)} ms`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await h.close();
  }
}
