// The cron schedule matcher: fields, ranges, steps, lists, names, macros, day-of-month/day-of-week
// "or" semantics, time zones (prefix and spec.timeZone), and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronSyntaxError, parseSchedule } from '../../src/controllers/cronjob/schedule.ts';
import { formatIndexes, parseIndexes } from '../../src/controllers/job/controller.ts';
import { computeHash, resolveIntOrPercent, safeEncode } from '../../src/controllers/replicaset/podutil.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? 'none' : new Date(ms).toISOString().replace('.000Z', 'Z'));

const nextCases: Array<[string, string | null, string, string]> = [
  ['* * * * *', null, '2024-01-01T00:00:30Z', '2024-01-01T00:01:00Z'],
  ['*/15 * * * *', null, '2024-01-01T00:14:00Z', '2024-01-01T00:15:00Z'],
  ['5 4 * * *', null, '2024-01-01T04:05:00Z', '2024-01-02T04:05:00Z'],
  ['0 9-17/4 * * *', null, '2024-01-01T10:00:00Z', '2024-01-01T13:00:00Z'],
  ['0 0 * * mon', null, '2024-01-01T00:00:00Z', '2024-01-08T00:00:00Z'], // 2024-01-01 is a Monday
  ['0 0 * * 7', null, '2024-01-01T00:00:00Z', '2024-01-07T00:00:00Z'], // 7 = Sunday
  ['0 0 1,15 * *', null, '2024-01-02T00:00:00Z', '2024-01-15T00:00:00Z'],
  ['0 0 13 * fri', null, '2024-01-01T00:00:00Z', '2024-01-05T00:00:00Z'], // dom OR dow
  ['0 12 * feb-mar *', null, '2024-01-10T00:00:00Z', '2024-02-01T12:00:00Z'],
  ['0 0 29 2 *', null, '2024-03-01T00:00:00Z', '2028-02-29T00:00:00Z'],
  ['@hourly', null, '2024-01-01T00:30:00Z', '2024-01-01T01:00:00Z'],
  ['@daily', null, '2024-01-01T00:30:00Z', '2024-01-02T00:00:00Z'],
  ['@weekly', null, '2024-01-01T00:30:00Z', '2024-01-07T00:00:00Z'],
  ['@monthly', null, '2024-01-01T00:30:00Z', '2024-02-01T00:00:00Z'],
  ['@yearly', null, '2024-01-01T00:30:00Z', '2025-01-01T00:00:00Z'],
  ['0 9 * * *', 'America/New_York', '2024-01-01T00:00:00Z', '2024-01-01T14:00:00Z'], // EST = UTC-5
  ['0 9 * * *', 'America/New_York', '2024-07-01T00:00:00Z', '2024-07-01T13:00:00Z'], // EDT = UTC-4
  ['CRON_TZ=Asia/Kolkata 30 9 * * *', null, '2024-01-01T00:00:00Z', '2024-01-01T04:00:00Z'], // UTC+5:30
  ['TZ=Europe/Berlin 0 0 * * *', null, '2024-01-01T00:00:00Z', '2024-01-01T23:00:00Z'],
  ['10/20 * * * *', null, '2024-01-01T00:31:00Z', '2024-01-01T00:50:00Z'],
];

for (const [spec, tz, from, want] of nextCases) {
  test(`next("${spec}"${tz ? ` in ${tz}` : ''}) after ${from} = ${want}`, () => {
    assert.equal(iso(parseSchedule(spec, tz).next(at(from))), want);
  });
}

test('matches is exact to the minute', () => {
  const s = parseSchedule('30 2 * * *');
  assert.equal(s.matches(at('2024-05-05T02:30:00Z')), true);
  assert.equal(s.matches(at('2024-05-05T02:31:00Z')), false);
});

test('invalid schedules are rejected with a reason', () => {
  for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '*/0 * * * *', '5-1 * * * *', '@every 5m', 'TZ=Not/AZone * * * * *', '* * * * * *', 'a * * * *']) {
    assert.throws(() => parseSchedule(bad), CronSyntaxError, bad);
  }
  assert.throws(() => parseSchedule('TZ=UTC * * * * *', 'Europe/Paris'), CronSyntaxError);
});

test('completedIndexes round-trips as intervals', () => {
  assert.deepEqual([...parseIndexes('0-2,4,7-8')].sort((a, b) => a - b), [0, 1, 2, 4, 7, 8]);
  assert.equal(formatIndexes([4, 0, 2, 1, 8, 7]), '0-2,4,7-8');
  assert.equal(formatIndexes([]), '');
});

test('names hash stably in upstream\'s alphabet; int-or-percent rounding', () => {
  const tpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'nginx' }] } };
  const reordered = { spec: { containers: [{ image: 'nginx', name: 'a' }] }, metadata: { labels: { app: 'web' } } };
  assert.equal(computeHash(tpl), computeHash(reordered));
  assert.notEqual(computeHash(tpl), computeHash(tpl, 1));
  assert.match(computeHash(tpl), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  // Decimal digits land on these letters, which is why upstream names look like web-5d4f8b7c9.
  assert.equal(safeEncode('0123456789'), '456789bcdf');
  assert.equal(resolveIntOrPercent('25%', 3, true, 0), 1);
  assert.equal(resolveIntOrPercent('25%', 3, false, 0), 0);
  assert.equal(resolveIntOrPercent(2, 3, false, 0), 2);
});
