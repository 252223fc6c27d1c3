// Knowing whether we run as a Node single executable application (SEA) and what follows from it:
// how to start ourselves again (for the background server) and where the SQLite addon lives.
// A SEA cannot load a native addon from inside itself, so release/build.mjs embeds the addon as an
// asset and we unpack it once into a content-addressed cache folder on first use.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The asset key release/build.mjs stores the better-sqlite3 addon under. */
export const SQLITE_ADDON_ASSET = 'better_sqlite3.node';

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

let seaModule: SeaModule | null | undefined;

/** node:sea exists from Node 20.12; before that (or if anything is odd) we are simply not a SEA. */
function sea(): SeaModule | null {
  if (seaModule === undefined) {
    try {
      // createRequire because node:sea is only reachable through require() in ESM dev builds too.
      const mod = createRequire(import.meta.url)('node:sea') as SeaModule;
      seaModule = mod.isSea() ? mod : null;
    } catch {
      seaModule = null;
    }
  }
  return seaModule;
}

/** True when running inside the packaged single executable. */
export function isSea(): boolean {
  return sea() !== null;
}

/** Same rule as config/paths.ts; repeated here so util/ does not depend on config/. */
function nanokubeHome(): string {
  return process.env.NANOKUBE_HOME || join(homedir(), '.nanokube');
}

/**
 * Writes `bytes` to <cacheRoot>/<sha256>/<fileName> unless it is already there, and returns that
 * path. The folder name is the content hash, so different builds never clash, and the file is
 * written under a temp name and renamed, so concurrent starts see either nothing or all of it.
 */
export function materializeAsset(bytes: Uint8Array, fileName: string, cacheRoot = join(nanokubeHome(), '.cache')): string {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const dir = join(cacheRoot, digest);
  const target = join(dir, fileName);
  try {
    if (statSync(target).size === bytes.byteLength) return target;
  } catch {
    // not there yet
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${fileName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, bytes, { mode: 0o755 });
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return target;
}

/**
 * Path on disk of a file embedded in the executable as SEA asset `key`, unpacked on first use;
 * undefined when not running as a SEA (then the file is wherever the source tree has it).
 */
export function embeddedAssetPath(key: string, fileName: string = key): string | undefined {
  const mod = sea();
  if (!mod) return undefined;
  return materializeAsset(new Uint8Array(mod.getRawAsset(key)), fileName);
}

let sqliteBinding: string | undefined;

/** Path of the better-sqlite3 addon to pass as `nativeBinding`, or undefined to let it find its own. */
export function sqliteNativeBinding(): string | undefined {
  sqliteBinding ??= embeddedAssetPath(SQLITE_ADDON_ASSET);
  return sqliteBinding;
}

/** argv prefix that runs this same program again: [node, script] or [the executable]. */
export function selfCommand(): string[] {
  if (isSea()) return [process.execPath];
  const script = process.argv[1];
  return script ? [process.execPath, ...process.execArgv, script] : [process.execPath];
}
