// Docker for tests: whether an engine answers, and a tiny local image built from the host's static
// busybox, because no container registry is reachable from CI or dev machines.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';

export const TEST_IMAGE = 'nanokube-test/busybox:1';
/** Every Docker object tests create carries this label so cleanup can be exact. */
export const TEST_LABEL = 'nanokube.test';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; never rejects on a non-zero exit. */
export function docker(args: string[], timeoutMs = 120_000): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('docker CLI not found; run scripts/ensure-docker.sh'));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: err?.killed ? `${stderr}\ndocker ${args.join(' ')} timed out` : stderr });
    });
  });
}

/** True when a Docker engine answers. Tests that need one use it to skip with a clear reason. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    return (await docker(['info', '--format', '{{.ServerVersion}}'], 15_000)).code === 0;
  } catch {
    return false;
  }
}

/** Whether an ELF file asks for a dynamic loader (has a PT_INTERP program header). */
export async function isDynamicallyLinked(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) throw new Error(`${path} is not a 64-bit ELF file`);
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) return true;
    }
    return false;
  } finally {
    await file.close();
  }
}

async function findStaticBusybox(): Promise<string> {
  for (const path of BUSYBOX_CANDIDATES) {
    try {
      if (!(await isDynamicallyLinked(path))) return path;
    } catch {
      // missing or unreadable: try the next one
    }
  }
  throw new Error('no statically linked busybox found; install busybox-static (scripts/ensure-docker.sh does)');
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** Lays out a minimal root filesystem: busybox plus one symlink per applet, passwd/group, tmp. */
async function makeRootfs(root: string, busybox: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(busybox, join(root, 'bin', 'busybox'));
  await chmod(join(root, 'bin', 'busybox'), 0o755);
  // `--list-full` gives each applet's conventional path, e.g. "usr/bin/wget", "sbin/ip".
  const applets = (await run(busybox, ['--list-full'])).split('\n').filter((l) => l && !l.endsWith('/busybox'));
  for (const applet of applets) {
    const link = join(root, applet);
    await mkdir(dirname(link), { recursive: true });
    await symlink('/bin/busybox', link);
  }
  for (const dir of ['etc', 'proc', 'sys', 'dev', 'root', 'var/www', 'var/run', 'home']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

let pending: Promise<string> | undefined;

/**
 * Makes sure the local test image exists and returns its reference. It holds busybox with the
 * usual applets (sh, sleep, wget, nc, httpd, nslookup, ip, ...) and runs `sh` by default.
 * Built only when missing; concurrent builders just import the same content twice.
 */
export function ensureTestImage(): Promise<string> {
  pending ??= buildTestImageIfMissing().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function buildTestImageIfMissing(): Promise<string> {
  if ((await docker(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE])).code === 0) return TEST_IMAGE;
  const busybox = await findStaticBusybox();
  const work = await mkdtemp(join(tmpdir(), 'nanokube-image-'));
  try {
    const root = join(work, 'rootfs');
    await makeRootfs(root, busybox);
    const tarball = join(work, 'rootfs.tar');
    // Everything owned by root with a fixed mtime, whoever builds it. (tar's `portable` would do
    // that too but also strips group/other write bits, and /tmp must stay 1777.)
    await createTar(
      {
        cwd: root,
        file: tarball,
        mtime: new Date(0),
        onWriteEntry: (entry) => {
          if (entry.stat) {
            entry.stat.uid = 0;
            entry.stat.gid = 0;
          }
        },
      },
      ['.'],
    );
    const result = await docker([
      'import',
      '--change', 'CMD ["sh"]',
      '--change', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      '--change', `LABEL ${TEST_LABEL}=true`,
      '--message', 'nanokube test image built from the host busybox-static',
      tarball,
      TEST_IMAGE,
    ]);
    if (result.code !== 0) throw new Error(`docker import of ${TEST_IMAGE} failed: ${result.stderr.trim()}`);
    return TEST_IMAGE;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
