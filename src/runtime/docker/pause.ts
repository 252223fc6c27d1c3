// The sandbox ("pause") image, built from the binary embedded in embedded/pause (assembled by
// scripts/gen-pause.ts) and imported into the engine: no registry, no compiler, ~270 bytes.
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import pauseAmd64 from '../../../embedded/pause/pause-amd64.json' with { type: 'json' };
import { drainProgress, statusOf } from './streams.ts';

export const PAUSE_REPO = 'nanokube/pause';
/** Image reference: the tag is the binary's content hash, so a changed binary is a new image. */
export const PAUSE_IMAGE = `${PAUSE_REPO}:${pauseAmd64.sha256.slice(0, 12)}`;

const binaries: Record<string, { base64: string } | undefined> = { amd64: pauseAmd64 };

/** A ustar archive holding one executable file at /<name>, owned by root, mtime 0. */
export function singleFileTar(name: string, data: Buffer, mode = 0o755): Buffer {
  const header = Buffer.alloc(512);
  const octal = (value: number, offset: number, width: number) =>
    header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
  header.write(name, 0, 100, 'ascii');
  octal(mode, 100, 8);
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(data.length, 124, 12);
  octal(0, 136, 12); // mtime
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  header.write('0', 156, 1, 'ascii'); // regular file
  header.write('ustar\0' + '00', 257, 8, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}

export function pauseBinary(arch: string): Buffer {
  const entry = binaries[arch];
  if (!entry) {
    throw new Error(`nanokube has no pause binary for ${arch} engines yet (only ${Object.keys(binaries).join(', ')})`);
  }
  return Buffer.from(entry.base64, 'base64');
}

/** Imports the pause image as `ref` when the engine does not have it; returns the reference. */
export async function ensurePauseImage(docker: Docker, arch: string, ref: string = PAUSE_IMAGE): Promise<string> {
  try {
    await docker.getImage(ref).inspect();
    return ref;
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  const [repo, tag] = ref.split(/:(?=[^:/]+$)/);
  const tarball = singleFileTar('pause', pauseBinary(arch));
  const progress = await docker.importImage(Readable.from([tarball]) as unknown as NodeJS.ReadableStream, {
    repo,
    tag,
    changes: ['ENTRYPOINT ["/pause"]', 'LABEL nanokube.infra=pause'],
    message: 'nanokube sandbox image (scripts/gen-pause.ts)',
  });
  await drainProgress(progress);
  return ref;
}
