// Writing a configMap/secret/downwardAPI/projected volume so that a running container sees either
// the old or the new set of files, never a mix: the files go into a fresh hidden "..<stamp>" dir,
// then one rename swaps the "..data" symlink to it; the visible names are symlinks through
// "..data" (the layout upstream's atomic writer uses, which apps watching the dir rely on).
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';

export interface VolumeFile {
  data: Buffer;
  mode: number;
}

const DATA_LINK = '..data';

function validRelative(path: string): boolean {
  const n = normalize(path);
  return !!path && !path.startsWith('/') && n !== '..' && !n.startsWith(`..${sep}`) && !n.split(sep).some((s) => s === '..');
}

async function currentFiles(dir: string, base = ''): Promise<Map<string, VolumeFile>> {
  const out = new Map<string, VolumeFile>();
  for (const entry of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [k, v] of await currentFiles(dir, rel)) out.set(k, v);
    else {
      const full = join(dir, rel);
      out.set(rel, { data: await readFile(full), mode: (await lstat(full)).mode & 0o777 });
    }
  }
  return out;
}

function same(a: Map<string, VolumeFile>, b: Map<string, VolumeFile>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const o = b.get(k);
    if (!o || o.mode !== v.mode || !o.data.equals(v.data)) return false;
  }
  return true;
}

/** Makes `dir` hold exactly `files` (relative paths). Returns false when nothing had to change. */
export async function writeAtomically(dir: string, files: Map<string, VolumeFile>): Promise<boolean> {
  for (const path of files.keys()) if (!validRelative(path)) throw new Error(`invalid volume file path "${path}"`);
  await mkdir(dir, { recursive: true });
  let oldStamp: string | undefined;
  try {
    oldStamp = await readlink(join(dir, DATA_LINK));
    if (same(await currentFiles(join(dir, oldStamp)), files)) return false;
  } catch {
    oldStamp = undefined;
  }
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const stampDir = join(dir, stamp);
  await mkdir(stampDir, { mode: 0o755 });
  for (const [path, f] of files) {
    const full = join(stampDir, path);
    await mkdir(dirname(full), { recursive: true, mode: 0o755 });
    await writeFile(full, f.data);
    // writeFile's mode is masked by the umask; chmod gives exactly what the pod asked for.
    await chmod(full, f.mode);
  }
  const tmpLink = join(dir, '..data_tmp');
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(dir, DATA_LINK));

  const topLevel = new Set([...files.keys()].map((p) => p.split('/')[0]!));
  for (const name of topLevel) {
    const link = join(dir, name);
    try {
      if ((await lstat(link)).isSymbolicLink()) continue;
      await rm(link, { recursive: true, force: true });
    } catch {
      // absent: created below
    }
    await symlink(join(DATA_LINK, name), link);
  }
  // Names that disappeared from the volume go, as does the previous generation.
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== DATA_LINK && entry !== stamp) await rm(join(dir, entry), { recursive: true, force: true });
      continue;
    }
    if (!topLevel.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
  void oldStamp;
  return true;
}
