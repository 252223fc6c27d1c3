// One server per data file: SQLite would let two processes write, but each would keep its own
// revision counter and watch hub, and clients would miss events. A pid file makes that an error.

import fs from 'node:fs';
import { StoreOpenError } from '../types.ts';

export function acquireLock(dbFile: string): () => void {
  const lockFile = `${dbFile}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // A read-only directory or full disk shows up here first; let SQLite's open report it
        // with the same classification, without a lock (nothing can write anyway).
        return () => {};
      }
      const holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
      if (Number.isSafeInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new StoreOpenError(
          dbFile,
          'locked',
          `It is in use by process ${holder}${holder === process.pid ? ' (this process: close the other store first)' : ''}; stop that nanokube server (\`nanokube stop\`) or use another --data-dir.`,
        );
      }
      // The holder died (kill -9, crash): its lock is stale.
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new StoreOpenError(dbFile, 'locked', `Could not take ${lockFile}; remove it if no nanokube server is running.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
