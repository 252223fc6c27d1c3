// resource.Quantity arithmetic for quota and LimitRange: values are kept as integer milli-units
// (enough for cpu to 1m and memory to ~9 PB), printed back in the style of the input (binary
// suffixes for memory-like values written that way, decimal otherwise), as upstream's canonical form.

const BINARY: Array<[string, number]> = [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
const DECIMAL: Array<[string, number]> = [['E', 1e18], ['P', 1e15], ['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]];
const SMALL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3 };

export type QuantityStyle = 'binary' | 'decimal';

export function isQuantity(v: unknown): v is string | number {
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/.test(v.trim());
}

/** Milli-units of a quantity ("100m" → 100, "1" → 1000, "1Ki" → 1024000); rounds up like upstream's MilliValue. */
export function parseMilli(v: string | number): number {
  if (typeof v === 'number') return Math.ceil(v * 1000);
  const s = v.trim();
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/.exec(s);
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  let mult = 1;
  if (/^[eE]/.test(suffix)) mult = 10 ** Number(suffix.slice(1));
  else if (suffix) mult = BINARY.find(([k]) => k === suffix)?.[1] ?? DECIMAL.find(([k]) => k === suffix)?.[1] ?? SMALL[suffix] ?? 1;
  return Math.ceil(Math.round(n * mult * 1000 * 1e6) / 1e6);
}

export function styleOf(v: string | number | undefined): QuantityStyle {
  return typeof v === 'string' && /[KMGTPE]i$/.test(v.trim()) ? 'binary' : 'decimal';
}

/** Canonical text for milli-units. */
export function formatMilli(milli: number, style: QuantityStyle = 'decimal'): string {
  if (milli === 0) return '0';
  if (milli % 1000 !== 0) return `${milli}m`;
  const value = milli / 1000;
  const table = style === 'binary' ? BINARY : DECIMAL;
  for (const [suffix, mult] of table) if (Math.abs(value) >= mult && value % mult === 0) return `${value / mult}${suffix}`;
  return String(value);
}

export type ResourceList = Record<string, string>;
