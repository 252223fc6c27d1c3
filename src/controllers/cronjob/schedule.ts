// Standard 5-field cron schedules (minute hour day-of-month month day-of-week) with ranges, steps,
// lists, month/day names, the @hourly-style macros and a time zone (a `CRON_TZ=`/`TZ=` prefix or
// the CronJob's spec.timeZone), evaluated through Intl so no tz database is bundled.
// (A library such as `cron-parser` would do; it is not installed, and this is all we need.)

export class CronSyntaxError extends Error {}

interface Field {
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface Schedule {
  readonly timeZone: string | undefined;
  /** Whether the minute starting at `ms` is a scheduled time. */
  matches(ms: number): boolean;
  /** The first scheduled time strictly after `ms` (whole minutes), or undefined within ~5 years. */
  next(ms: number): number | undefined;
}

function parseValue(text: string, f: Field, isDow: boolean): number {
  const lower = text.toLowerCase();
  const named = f.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + f.min;
  if (!/^\d+$/.test(text)) throw new CronSyntaxError(`invalid value "${text}"`);
  let n = Number(text);
  if (isDow && n === 7) n = 0; // both 0 and 7 are Sunday
  if (n < f.min || n > f.max) throw new CronSyntaxError(`value ${text} out of range ${f.min}-${f.max}`);
  return n;
}

/** The allowed values of one field, and whether it was a bare `*` (matters for day matching). */
function parseField(text: string, f: Field, isDow: boolean): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    if (part === '') throw new CronSyntaxError(`empty list item in "${text}"`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined) throw new CronSyntaxError(`invalid step in "${part}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronSyntaxError(`invalid step "${stepText}"`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = f.min;
      hi = f.max;
      if (stepText === undefined) star = true;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = parseValue(a ?? '', f, false);
      hi = parseValue(b ?? '', f, false);
      if (isDow && hi === 7) hi = 6, values.add(0);
      if (lo > hi) throw new CronSyntaxError(`invalid range "${range}"`);
    } else {
      lo = parseValue(range, f, isDow);
      hi = stepText !== undefined ? f.max : lo; // "a/n" means from a to the end, every n
    }
    for (let v = lo; v <= hi; v += step) values.add(isDow && v === 7 ? 0 : v);
  }
  return { values, star };
}

interface WallClock {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(ms: number, timeZone: string | undefined): WallClock {
  const key = timeZone ?? 'UTC';
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone: key, hourCycle: 'h23', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric', weekday: 'short' });
    formatters.set(key, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(ms)) parts[p.type] = p.value;
  return {
    minute: Number(parts.minute),
    hour: Number(parts.hour),
    day: Number(parts.day),
    month: Number(parts.month),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? ''),
  };
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses a schedule; `timeZone` (spec.timeZone) wins over none, a TZ= prefix may not be combined with it. */
export function parseSchedule(spec: string, timeZone?: string | null): Schedule {
  let text = spec.trim();
  let tz = timeZone ?? undefined;
  const prefix = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (prefix) {
    if (tz) throw new CronSyntaxError('a TZ or CRON_TZ prefix is not allowed together with spec.timeZone');
    tz = prefix[1];
    text = prefix[2] ?? '';
  }
  if (tz && !isValidTimeZone(tz)) throw new CronSyntaxError(`unknown time zone ${tz}`);
  if (text.startsWith('@')) {
    const m = MACROS[text.toLowerCase()];
    if (!m) throw new CronSyntaxError(`unrecognized descriptor: ${text}`);
    text = m;
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) throw new CronSyntaxError(`expected exactly 5 fields, found ${fields.length}: ${text}`);
  const [minute, hour, dom, month, dow] = fields.map((t, i) => parseField(t, FIELDS[i]!, i === 4)) as [ReturnType<typeof parseField>, ReturnType<typeof parseField>, ReturnType<typeof parseField>, ReturnType<typeof parseField>, ReturnType<typeof parseField>];

  const dayMatches = (w: WallClock) => {
    // Vixie cron: when both day fields are restricted, either may match.
    if (!dom.star && !dow.star) return dom.values.has(w.day) || dow.values.has(w.weekday);
    return dom.values.has(w.day) && dow.values.has(w.weekday);
  };
  const matches = (ms: number) => {
    const w = wallClock(ms, tz);
    return minute.values.has(w.minute) && hour.values.has(w.hour) && month.values.has(w.month) && dayMatches(w);
  };
  return {
    timeZone: tz,
    matches,
    next(ms: number) {
      let t = Math.floor(ms / 60_000) * 60_000 + 60_000;
      const limit = t + 5 * 366 * 86_400_000;
      // Skip whole hours when the day or hour cannot match (zones are offset by whole or half
      // hours at minute granularity, so re-checking each 15-minute boundary stays exact enough).
      while (t < limit) {
        const w = wallClock(t, tz);
        if (!month.values.has(w.month) || !dayMatches(w) || !hour.values.has(w.hour)) {
          t += (15 - (w.minute % 15)) * 60_000;
          continue;
        }
        if (minute.values.has(w.minute)) return t;
        t += 60_000;
      }
      return undefined;
    },
  };
}
