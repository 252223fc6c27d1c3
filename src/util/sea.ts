// Knowing whether we run as a Node single executable application (SEA) and what follows from it:
// how to start ourselves again (for the background server) and where the SQLite addon lives.
// (Filled in by the release work; these defaults are right for `node dist/...` and tsx.)

/** True when running inside the packaged single executable. */
export function isSea(): boolean {
  return false;
}

/** Path of the better-sqlite3 addon to pass as `nativeBinding`, or undefined to let it find its own. */
export function sqliteNativeBinding(): string | undefined {
  return undefined;
}

/** argv prefix that runs this same program again: [node, script] or [the executable]. */
export function selfCommand(): string[] {
  const script = process.argv[1];
  return script ? [process.execPath, ...process.execArgv, script] : [process.execPath];
}
