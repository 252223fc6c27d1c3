// One server per data dir: the pid file is created exclusively, and a stale one (its process gone)
// is taken over. Two servers on one SQLite file would each believe they own the revision counter.
import fs from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A detached server that exited stays a zombie until init reaps it, which some inits (in
  // containers) do only every few seconds; kill(pid, 0) still succeeds on a zombie.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return process.platform !== 'linux';
  }
}

export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid of the server owning this pid file, if it still runs. */
export function runningPid(file: string): number | undefined {
  const pid = readPid(file);
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}

/** Returns a release function. Throws if a live server already holds the file. */
export function acquirePidFile(file: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = runningPid(file);
      if (other !== undefined && other !== process.pid) {
        throw new Error(`another nanokube server (pid ${other}) already uses this data dir (${file}); stop it first with "nanokube stop"`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not create ${file}: it keeps reappearing; is another server starting at the same time?`);
}
