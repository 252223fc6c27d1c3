// kill -9 at a random moment: every write the child saw acknowledged must be there after reopen.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const child = fileURLToPath(new URL('./storage-crash-child.ts', import.meta.url));
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);

interface RoundResult {
  creates: { key: string; rev: number }[];
  counter: number;
  maxRev: number;
}

async function runRound(file: string, round: number): Promise<RoundResult> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, file, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result: RoundResult = { creates: [], counter: 0, maxRev: 0 };
  let partial = '';
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let killTimer: NodeJS.Timeout | undefined;
  proc.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? ''; // an incomplete last line is not an ack
    for (const line of lines) {
      const [kind, a, b] = line.split(' ');
      if (kind === 'ready') {
        // Kill somewhere between "just started writing" and "well into it".
        killTimer = setTimeout(() => proc.kill('SIGKILL'), 20 + Math.floor(Math.random() * 300));
      } else if (kind === 'create') {
        result.creates.push({ key: a!, rev: Number(b) });
        result.maxRev = Math.max(result.maxRev, Number(b));
      } else if (kind === 'counter') {
        result.counter = Math.max(result.counter, Number(a));
        result.maxRev = Math.max(result.maxRev, Number(b));
      }
    }
  });
  // Bounded: a child that never says ready is killed by the deadline.
  const deadline = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(deadline);
  clearTimeout(killTimer);
  assert.equal(proc.signalCode, 'SIGKILL', `child ended on its own: ${stderr}`);
  return result;
}

it(`acknowledged writes survive kill -9 (${ROUNDS} rounds)`, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-crash-'));
  try {
    const file = path.join(dir, 'state.db');
    let totalAcked = 0;
    let lastRevision = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runRound(file, round);
      totalAcked += r.creates.length;
      const store = SqliteStore.open(file, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
      try {
        const rev = await store.currentRevision();
        assert.ok(rev >= r.maxRev, `round ${round}: revision ${rev} < acknowledged ${r.maxRev}`);
        assert.ok(rev >= lastRevision, 'revision never goes back');
        lastRevision = rev;
        for (const { key, rev: ackRev } of r.creates) {
          const kv = await store.get(key);
          assert.ok(kv, `round ${round}: acknowledged create of ${key} (rev ${ackRev}) was lost`);
          assert.equal(kv.modRevision, ackRev);
        }
        const counter = Number((await store.get('/crash/counter'))?.value ?? '0');
        assert.ok(counter >= r.counter, `round ${round}: counter ${counter} < acknowledged ${r.counter}`);
        // Nothing half-written: every stored row of this round is a complete value.
        const listed = await store.list(`/crash/r${round}/`);
        for (const kv of listed.items) assert.equal(kv.value, JSON.stringify({ pad: 'x'.repeat(900) }));
      } finally {
        await store.close();
      }
    }
    console.log(`crash test: ${totalAcked} acknowledged creates over ${ROUNDS} kills, final revision ${lastRevision}`);
    assert.ok(totalAcked > ROUNDS, `too few acknowledged writes (${totalAcked}) for the test to mean anything`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
