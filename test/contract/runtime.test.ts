// One contract for every NodeRuntime: the Docker one against the real engine with the busybox test
// image, and the fake one with programs that behave like those busybox commands.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import { createDockerRuntime } from '../../src/runtime/docker/runtime.ts';
import { removeClusterDockerObjects } from '../../src/runtime/docker/cleanup.ts';
import { FakeEngine } from '../../src/runtime/fake/engine.ts';
import { program, type FakeProgram } from '../../src/runtime/fake/process.ts';
import { createFakeRuntime } from '../../src/runtime/fake/runtime.ts';
import { ImagePullError, type NodeRuntime, type PodRef, type RuntimeEvent, type StreamSession } from '../../src/runtime/types.ts';
import { docker, dockerAvailable, ensureTestImage, TEST_IMAGE, TEST_LABEL } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';

interface Harness {
  cluster: string;
  cidr: string;
  image: string;
  /** A fresh runtime over the same engine: a kubelet restart. */
  make(): NodeRuntime;
  /** Objects of the cluster still in the engine. */
  leftovers(): Promise<number>;
  cleanup(): Promise<void>;
}

const HELLO = ['sh', '-c', 'echo hello; echo oops >&2; sleep 3600'];
const NC = ['nc', '-ll', '-p', '8080', '-e', 'echo', 'pong'];
const OOM = ['sh', '-c', 'head -c 200m /dev/zero | tail'];
const READ = ['sh', '-c', 'read line; echo got $line'];

async function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) return '';
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

async function run(session: StreamSession): Promise<{ out: string; err: string; code: number }> {
  const [out, err, code] = await Promise.all([collect(session.stdout), collect(session.stderr), session.exitCode]);
  return { out, err, code };
}

function readReply(sock: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString()));
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
}

/** Fake programs standing in for the busybox commands the contract runs. */
function busyboxPrograms(): FakeProgram[] {
  const forever = () => new Promise<number>(() => {}); // PID 1 sh ignores SIGTERM: only the kill ends it
  return [
    program('hello', HELLO, async (p) => {
      p.stdout('hello\n');
      p.stderr('oops\n');
      return forever();
    }),
    program('nc', NC, async (p) => {
      p.listen(8080, (conn) => conn.end('pong\n'));
      return forever();
    }),
    program('oom', OOM, async (p) => {
      for (let i = 0; i < 200; i++) {
        p.allocate(1 << 20);
        await p.sleep(0);
      }
      return 0;
    }),
    program('read', READ, async (p) => {
      let text = '';
      for await (const chunk of p.stdin) {
        text += chunk.toString();
        if (text.includes('\n')) break;
      }
      p.stdout(`got ${text.split('\n')[0]}\n`);
      return 0;
    }),
    program('arith', ['sh', '-c', 'echo $((6*7))'], async (p) => (p.stdout('42\n'), 0)),
    program('exit7', ['sh', '-c', 'exit 7'], async () => 7),
    program('hostname', ['hostname'], async (p) => (p.stdout(p.files.get('/etc/hostname') ?? ''), 0)),
    program('cat', (argv) => argv[0] === 'cat', async (p) => {
      if (p.argv.length === 1) {
        for await (const chunk of p.stdin) p.stdout(chunk as Buffer);
        return 0;
      }
      const file = p.files.get(p.argv[1]!);
      if (file === undefined) return (p.stderr(`cat: can't open '${p.argv[1]}': No such file or directory\n`), 1);
      return (p.stdout(file), 0);
    }),
  ];
}

function contract(name: string, setup: () => Promise<Harness | string>): void {
  describe(`NodeRuntime contract: ${name}`, () => {
    let h: Harness;
    let rt: NodeRuntime;
    let skip: string | undefined;
    const pod: PodRef = { uid: '0123abcd-4567-89ef-0123-456789abcdef', namespace: 'default', name: 'web' };
    const ip = (cidr: string, last: number) => cidr.replace(/\.0\/24$/, `.${last}`);
    let sandboxId = '';
    const ids: Record<string, string> = {};
    const seen: RuntimeEvent[] = [];
    const stopEvents = new AbortController();

    before(async () => {
      const got = await setup();
      if (typeof got === 'string') {
        skip = got;
        return;
      }
      h = got;
      rt = h.make();
      void (async () => {
        for await (const e of rt.events(stopEvents.signal)) seen.push(e);
      })();
    });
    after(async () => {
      stopEvents.abort();
      if (h) await h.cleanup();
    });
    const test = (title: string, body: () => Promise<void>) =>
      it(title, async (t) => {
        if (skip) return t.skip(skip);
        await body();
      });

    test('images: infra image, pull policies and pull errors', async () => {
      const pause = await rt.ensureInfraImage();
      assert.equal(await rt.imageExists(pause), true);
      assert.ok((await rt.pullImage(h.image, 'IfNotPresent')).startsWith('sha256:'));
      assert.ok((await rt.listImages()).some((i) => i.repoTags.includes(h.image)));
      const missing = '127.0.0.1:1/nanokube/missing:1';
      await assert.rejects(rt.pullImage(missing, 'Never'), (e: unknown) => e instanceof ImagePullError && e.reason === 'ErrImageNeverPull');
      await assert.rejects(rt.pullImage(missing, 'IfNotPresent'), (e: unknown) => e instanceof ImagePullError && e.reason === 'ErrImagePull' && e.message.includes(missing));
      await assert.rejects(rt.pullImage('Not An Image', 'IfNotPresent'), (e: unknown) => e instanceof ImagePullError && e.reason === 'InvalidImageName');
    });

    test('network: created with the node CIDR, gateway first address, idempotent', async () => {
      const net = await rt.ensureNetwork({ cidr: h.cidr });
      assert.equal(net.gateway, ip(h.cidr, 1));
      assert.equal((await rt.ensureNetwork({ cidr: h.cidr })).id, net.id);
      await assert.rejects(rt.ensureNetwork({ cidr: '10.254.254.0/24' }), /exists with subnet/);
    });

    test('sandbox: fixed IP, hostname, DNS, hosts', async () => {
      sandboxId = await rt.createSandbox({
        pod,
        attempt: 0,
        ip: ip(h.cidr, 5),
        hostname: 'web',
        dns: { nameservers: ['10.43.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
        hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar'] }],
      });
      const [sb] = await rt.listSandboxes({ podUid: pod.uid });
      assert.equal(sb?.id, sandboxId);
      assert.equal(sb?.state, 'running');
      assert.equal(sb?.ip, ip(h.cidr, 5));
      assert.equal(sb?.pod.name, 'web');
    });

    test('container: runs, labelled, logs split by stream', async () => {
      ids.hello = await rt.createContainer(sandboxId, { pod, name: 'app', image: h.image, command: HELLO, restartCount: 2, specHash: 'h1' });
      await rt.startContainer(ids.hello);
      const s = await rt.containerStatus(ids.hello);
      assert.equal(s.state, 'running');
      assert.equal(s.restartCount, 2);
      assert.equal(s.specHash, 'h1');
      assert.equal(s.containerName, 'app');
      assert.equal(s.sandboxId, sandboxId);
      assert.ok(s.startedAt);
      assert.match(s.runtimeName, /^k8s_app_web_default_0123abcd_2$/);
      const logs = await waitFor(async () => {
        const chunks = [];
        for await (const c of rt.containerLogs(ids.hello!, {})) chunks.push(c);
        return chunks.length >= 2 && chunks;
      }, { what: 'hello and oops in the logs', timeoutMs: 10_000 });
      assert.deepEqual(logs.map((c) => [c.stream, c.data.toString()]).sort(), [['stderr', 'oops\n'], ['stdout', 'hello\n']]);
      const onlyErr = [];
      for await (const c of rt.containerLogs(ids.hello, { stream: 'stderr', timestamps: true })) onlyErr.push(c.data.toString());
      assert.match(onlyErr.join(''), /^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);
      const follow = new AbortController();
      // The tail counts both streams (Docker's way); the stream filter applies after it.
      const it = rt.containerLogs(ids.hello, { follow: true, tail: 2, stream: 'stdout' }, follow.signal)[Symbol.asyncIterator]();
      const deadline = setTimeout(() => follow.abort(), 10_000);
      assert.equal((await it.next()).value?.data.toString(), 'hello\n');
      clearTimeout(deadline);
      follow.abort();
      assert.equal((await it.next()).done, true);
    });

    test('pod files: resolv.conf, hosts, hostname seen from the app container', async () => {
      const resolv = await run(await rt.exec(ids.hello!, { cmd: ['cat', '/etc/resolv.conf'] }));
      assert.equal(resolv.out, 'nameserver 10.43.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n');
      const hosts = await run(await rt.exec(ids.hello!, { cmd: ['cat', '/etc/hosts'] }));
      assert.match(hosts.out, new RegExp(`^${ip(h.cidr, 5).replace(/\./g, '\\.')}\\tweb$`, 'm'));
      assert.match(hosts.out, /^10\.1\.2\.3\tfoo\.local\tbar$/m);
      assert.equal((await run(await rt.exec(ids.hello!, { cmd: ['hostname'] }))).out.trim(), 'web');
    });

    test('exec: output, exit codes, stdin', async () => {
      assert.deepEqual(await run(await rt.exec(ids.hello!, { cmd: ['sh', '-c', 'echo $((6*7))'] })), { out: '42\n', err: '', code: 0 });
      assert.equal((await run(await rt.exec(ids.hello!, { cmd: ['sh', '-c', 'exit 7'] }))).code, 7);
      const cat = await rt.exec(ids.hello!, { cmd: ['cat'], stdin: true });
      cat.stdin!.end('ping over stdin\n');
      assert.deepEqual(await run(cat), { out: 'ping over stdin\n', err: '', code: 0 });
    });

    test('attach: stdin reaches the container, output comes back', async () => {
      ids.read = await rt.createContainer(sandboxId, { pod, name: 'reader', image: h.image, command: READ, stdin: true, stdinOnce: true, restartCount: 0, specHash: 'r' });
      await rt.startContainer(ids.read);
      const session = await rt.attach(ids.read, { stdin: true, stdout: true, stderr: true });
      session.stdin!.write('x\n');
      const out = await collect(session.stdout);
      assert.equal(out, 'got x\n');
      assert.equal(await session.exitCode, 0);
    });

    test('port-forward reaches a server in the pod', async () => {
      ids.nc = await rt.createContainer(sandboxId, { pod, name: 'nc', image: h.image, command: NC, restartCount: 0, specHash: 'n' });
      await rt.startContainer(ids.nc);
      const reply = await waitFor(async () => readReply(await rt.portForward(sandboxId, 8080)), { what: 'nc to answer', timeoutMs: 10_000 });
      assert.equal(reply, 'pong\n');
    });

    test('OOM kill is detected and reported', async () => {
      ids.oom = await rt.createContainer(sandboxId, {
        pod,
        name: 'hog',
        image: h.image,
        command: OOM,
        resources: { memoryLimitBytes: 16 << 20 },
        restartCount: 0,
        specHash: 'o',
      });
      await rt.startContainer(ids.oom);
      const s = await waitFor(async () => {
        const st = await rt.containerStatus(ids.oom!);
        return st.state === 'exited' && st;
      }, { what: 'the memory hog to exit', timeoutMs: 20_000 });
      assert.equal(s.reason, 'OOMKilled');
      assert.equal(s.exitCode, 137);
      await waitFor(() => seen.some((e) => e.type === 'oom' && e.id === ids.oom), { what: 'an oom event', timeoutMs: 5000 });
      const die = await waitFor(() => seen.find((e) => e.type === 'die' && e.id === ids.oom), { what: 'a die event', timeoutMs: 5000 });
      assert.equal(die.exitCode, 137);
      assert.equal(die.containerName, 'hog');
      assert.equal(die.pod.uid, pod.uid);
    });

    test('stop: SIGTERM then kill within the grace', async () => {
      const started = Date.now();
      await rt.stopContainer(ids.hello!, 1);
      const took = Date.now() - started;
      assert.ok(took < 4000, `stop took ${took} ms`);
      const s = await rt.containerStatus(ids.hello!);
      assert.equal(s.state, 'exited');
      assert.equal(s.exitCode, 137); // sh as PID 1 ignores SIGTERM, so the kill after the grace ends it
      assert.equal(s.reason, 'Error');
      assert.ok(s.finishedAt);
    });

    test('a new runtime instance finds everything by labels', async () => {
      const again = h.make();
      const sandboxes = await again.listSandboxes({ podUid: pod.uid });
      assert.deepEqual(sandboxes.map((s) => [s.id, s.state, s.ip]), [[sandboxId, 'running', ip(h.cidr, 5)]]);
      const containers = await again.listContainers({ podUid: pod.uid });
      const byName = new Map(containers.map((c) => [c.containerName, c]));
      assert.deepEqual([...byName.keys()].sort(), ['app', 'hog', 'nc', 'reader']);
      assert.equal(byName.get('app')?.restartCount, 2);
      assert.equal(byName.get('app')?.specHash, 'h1');
      assert.equal(byName.get('hog')?.reason, 'OOMKilled');
      assert.equal(byName.get('nc')?.state, 'running');
      assert.deepEqual((await again.listContainers({ podUid: pod.uid, state: 'running' })).map((c) => c.containerName), ['nc']);
      assert.deepEqual(await again.listContainers({ podUid: 'someone-else' }), []);
      const stats = await again.stats(ids.nc!);
      assert.ok(stats.cpuUsageNanoSeconds >= 0 && stats.memoryUsageBytes >= 0);
    });

    test('sandbox stops at once (pause exits on SIGTERM); removal leaves nothing', async () => {
      await rt.stopContainer(ids.nc!, 0);
      const started = Date.now();
      await rt.stopSandbox(sandboxId);
      const took = Date.now() - started;
      assert.ok(took < 1000, `sandbox stop took ${took} ms`);
      assert.equal((await rt.containerStatus(sandboxId)).exitCode, 0);
      for (const c of await rt.listContainers({ podUid: pod.uid })) await rt.removeContainer(c.id);
      await rt.removeSandbox(sandboxId);
      await rt.removeSandbox(sandboxId); // idempotent
      await rt.removeNetwork();
      assert.equal(await h.leftovers(), 0);
    });
  });
}

contract('fake', async () => {
  const engine = new FakeEngine({ images: [{ ref: TEST_IMAGE, cmd: ['sh'] }], programs: busyboxPrograms() });
  const cluster = 'rt-contract-fake';
  return {
    cluster,
    cidr: '10.231.0.0/24',
    image: TEST_IMAGE,
    make: () => createFakeRuntime({ cluster, engine }),
    leftovers: async () => [...engine.containers.values()].filter((c) => c.cluster === cluster).length + (engine.networks.has(cluster) ? 1 : 0),
    cleanup: async () => {
      for (const c of engine.containers.values()) c.process?.kill();
    },
  };
});

contract('docker', async () => {
  if (!(await dockerAvailable())) {
    if (process.env.CI === 'true') throw new Error('no Docker engine answers, and CI requires the Docker contract to run');
    return 'no Docker engine answers (scripts/ensure-docker.sh starts one)';
  }
  const image = await ensureTestImage();
  const cluster = `rt-contract-${process.pid}`;
  const labels = { [TEST_LABEL]: 'true' };
  return {
    cluster,
    cidr: `10.231.${(process.pid % 250) + 1}.0/24`,
    image,
    make: () => createDockerRuntime({ cluster, labels }),
    leftovers: async () => {
      const filter = `label=nanokube.cluster=${cluster}`;
      const ps = await docker(['ps', '-aq', '--filter', filter]);
      const nets = await docker(['network', 'ls', '-q', '--filter', filter]);
      return (ps.stdout + nets.stdout).split('\n').filter(Boolean).length;
    },
    cleanup: async () => {
      await removeClusterDockerObjects(cluster);
    },
  };
});
