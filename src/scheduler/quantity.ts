// resource.Quantity strings ("100m", "1.5Gi", "2e3") to plain numbers, as the scheduler compares
// them: cpu in millicores, everything else in base units, both rounded up like Quantity's
// MilliValue()/Value().

const binarySuffix: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimalSuffix: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const quantityPattern = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

const cache = new Map<string, number>();

/** The quantity's value in base units (not rounded); NaN when the text is not a quantity. */
export function parseQuantity(text: string | number | undefined | null): number {
  if (text === undefined || text === null) return 0;
  if (typeof text === 'number') return text;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const m = quantityPattern.exec(text.trim());
  let value = Number.NaN;
  if (m) {
    const base = Number(m[1]);
    if (m[2]) value = base * 10 ** Number(m[2].slice(1));
    else {
      const suffix = m[3] ?? '';
      value = base * (binarySuffix[suffix] ?? decimalSuffix[suffix] ?? Number.NaN);
    }
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(text, value);
  return value;
}

/** Millicores, rounded up (a request of "1n" cpu still needs 1m). */
export function milliValue(text: string | number | undefined | null): number {
  const v = parseQuantity(text);
  return Number.isFinite(v) ? Math.ceil(Math.round(v * 1e3 * 1e6) / 1e6) : 0;
}

/** Base units, rounded up. */
export function intValue(text: string | number | undefined | null): number {
  const v = parseQuantity(text);
  return Number.isFinite(v) ? Math.ceil(Math.round(v * 1e6) / 1e6) : 0;
}
