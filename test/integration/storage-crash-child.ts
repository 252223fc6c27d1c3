// Child of the crash test: writes as fast as it can and prints one line per acknowledged write.
// Usage: storage-crash-child.ts <db file> <round>

import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const [file, round] = process.argv.slice(2);
if (!file || !round) throw new Error('usage: storage-crash-child.ts <db file> <round>');
const store = SqliteStore.open(file, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
const counterKey = '/crash/counter';
const value = JSON.stringify({ pad: 'x'.repeat(900) });
// Lines go to a pipe, which Node writes synchronously on Linux: a printed ack left this process.
const ack = (line: string) => process.stdout.write(line + '\n');
ack('ready');

let n = 0;
async function creator(worker: number): Promise<never> {
  for (;;) {
    const key = `/crash/r${round}/w${worker}/${n++}`;
    const kv = await store.create(key, value);
    ack(`create ${key} ${kv.modRevision}`);
  }
}

async function counter(): Promise<never> {
  for (;;) {
    const cur = await store.get(counterKey);
    const next = String(Number(cur?.value ?? '0') + 1);
    const kv = cur ? await store.update(counterKey, next, cur.modRevision) : await store.create(counterKey, next);
    ack(`counter ${next} ${kv.modRevision}`);
  }
}

void Promise.all([counter(), ...Array.from({ length: 16 }, (_, i) => creator(i))]);
