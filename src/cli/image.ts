// `nanokube image ls|import|rm`: the images pods can use, which are the host Docker engine's own
// (the kubelet runs pods there and pulls only what is missing). `import` loads a `docker save`
// tarball, so an image built elsewhere (or in an offline CI job) is usable without a registry.
// Plain HTTP over the engine socket, like pingDocker: no dockerode to load for a CLI command.
import fs from 'node:fs';
import http from 'node:http';
import type { Command } from 'commander';
import { CliError } from './common.ts';

/** Label nanokube puts on the images it builds itself (the pause image). */
const INFRA_LABEL = 'nanokube.infra';
const INFRA_REPO_PREFIX = 'nanokube/';

interface EngineImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
  Labels?: Record<string, string> | null;
}

export function register(program: Command): void {
  const image = program.command('image').description("list, import and remove images in the Docker engine's image store (the images pods run)");
  image
    .command('ls')
    .alias('list')
    .description('list images; nanokube\'s own infrastructure images are marked "infra"')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { output: string }) => {
      const images = await listImages();
      if (opts.output === 'json') {
        console.log(JSON.stringify(images.flatMap(toRow), null, 2));
        return;
      }
      if (opts.output !== 'table') throw new CliError(`unknown output format "${opts.output}": use table or json`, 2);
      printTable(images.map(toRow));
    });
  image
    .command('import')
    .alias('load')
    .argument('<file>', 'a tarball written by `docker save` (or `podman save --format docker-archive`)')
    .description('load a `docker save` tarball into the engine so pods can use its images without a registry')
    .action(async (file: string) => {
      for (const line of await importImage(file)) console.log(line);
    });
  image
    .command('rm')
    .alias('remove')
    .argument('<ref...>', 'image references (name:tag) or IDs')
    .option('-f, --force', 'remove even when containers use it or it has several tags')
    .description('remove images from the engine')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      for (const ref of refs) {
        for (const line of await removeImage(ref, opts.force === true)) console.log(line);
      }
    });
}

interface Row {
  repository: string;
  tag: string;
  id: string;
  created: string;
  sizeBytes: number;
  infra: boolean;
}

function toRow(i: EngineImage): Row[] {
  const tagsAll = i.RepoTags ?? [];
  // The label marks what we build; the repository prefix also catches images made before the label existed.
  const infra = i.Labels?.[INFRA_LABEL] !== undefined || tagsAll.some((t) => t.startsWith(INFRA_REPO_PREFIX));
  const id = i.Id.replace(/^sha256:/, '').slice(0, 12);
  const created = new Date(i.Created * 1000).toISOString();
  const tags = tagsAll.filter((t) => t !== '<none>:<none>');
  if (tags.length === 0) return [{ repository: '<none>', tag: '<none>', id, created, sizeBytes: i.Size, infra }];
  return tags.map((t) => {
    const colon = t.lastIndexOf(':');
    return { repository: t.slice(0, colon), tag: t.slice(colon + 1), id, created, sizeBytes: i.Size, infra };
  });
}

function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function printTable(groups: Row[][]): void {
  const rows = groups.flat().sort((a, b) => Number(b.infra) - Number(a.infra) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
  const cells = [['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE', ''], ...rows.map((r) => [r.repository, r.tag, r.id, formatSize(r.sizeBytes), r.infra ? 'infra' : ''])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  for (const row of cells) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('   ').trimEnd());
}

interface EngineAnswer {
  status: number;
  body: string;
}

async function engine(method: string, path: string, body?: fs.ReadStream, headers: Record<string, string> = {}): Promise<EngineAnswer> {
  const { dockerHttpTarget, pingDocker } = await import('../runtime/docker/connect.ts');
  // The ping turns "no engine" into a message that says how to start one.
  await pingDocker(5000).catch((e: Error) => {
    throw new CliError(e.message);
  });
  return new Promise((resolve, reject) => {
    const req = http.request({ ...dockerHttpTarget(), method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

function engineMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}

export async function listImages(): Promise<EngineImage[]> {
  const r = await engine('GET', '/images/json');
  if (r.status !== 200) throw new CliError(`the Docker engine could not list images: ${engineMessage(r.body)}`);
  return JSON.parse(r.body) as EngineImage[];
}

/** Loads a `docker save` tarball; returns the engine's "Loaded image: ..." lines. */
export async function importImage(file: string): Promise<string[]> {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new CliError(`${file} is not a file; pass a tarball made by: docker save -o image.tar <image>`, 2);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 2);
  }
  const r = await engine('POST', '/images/load?quiet=1', fs.createReadStream(file), {
    'Content-Type': 'application/x-tar',
    'Content-Length': String(size),
  });
  if (r.status !== 200) throw new CliError(`the Docker engine did not load ${file}: ${engineMessage(r.body)}`);
  // The answer is a stream of JSON messages; a bad tarball is reported inside it with HTTP 200.
  const lines: string[] = [];
  for (const raw of r.body.split('\n')) {
    if (!raw.trim()) continue;
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      continue;
    }
    if (msg.error) throw new CliError(`the Docker engine did not load ${file}: ${msg.errorDetail?.message ?? msg.error}. Is it a \`docker save\` tarball?`);
    const text = msg.stream?.trim();
    if (text) lines.push(text);
  }
  if (lines.length === 0) lines.push(`Loaded ${file}`);
  return lines;
}

/** Removes one image; returns what the engine untagged and deleted. */
export async function removeImage(ref: string, force: boolean): Promise<string[]> {
  const r = await engine('DELETE', `/images/${encodeURIComponent(ref)}${force ? '?force=1' : ''}`);
  if (r.status === 404) throw new CliError(`no such image: ${ref} (see: nanokube image ls)`);
  if (r.status === 409) throw new CliError(`cannot remove ${ref}: ${engineMessage(r.body)}. Delete the pods using it, or pass --force`);
  if (r.status !== 200) throw new CliError(`the Docker engine did not remove ${ref}: ${engineMessage(r.body)}`);
  const items = JSON.parse(r.body) as Array<{ Untagged?: string; Deleted?: string }>;
  return items.map((i) => (i.Untagged ? `Untagged: ${i.Untagged}` : `Deleted: ${i.Deleted ?? ''}`));
}
