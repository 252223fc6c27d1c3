// Key-range and continue-token helpers shared by every backend.

import { StoreError } from './types.ts';

/** The smallest string greater than every key starting with prefix ('' → no upper bound). */
export function prefixEnd(prefix: string): string {
  // Keys are ASCII paths in practice; bumping the last code unit gives the exclusive upper bound.
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '';
}

export interface ContinuePoint {
  /** The revision the first page was read at; later pages read the same snapshot. */
  revision: number;
  /** The last key returned; the next page starts strictly after it. */
  lastKey: string;
}

// The token is opaque to clients but must survive a round trip through a URL query.
export function encodeContinue(point: ContinuePoint): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: point.revision, k: point.lastKey })).toString('base64url');
}

export class InvalidContinueError extends StoreError {
  override name = 'InvalidContinueError';
  constructor(readonly token: string) {
    super('continue token is not valid; start the list again without it');
  }
}

export function decodeContinue(token: string): ContinuePoint {
  try {
    const raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; k?: unknown };
    if (raw.v === 1 && typeof raw.rv === 'number' && Number.isSafeInteger(raw.rv) && raw.rv > 0 && typeof raw.k === 'string') {
      return { revision: raw.rv, lastKey: raw.k };
    }
  } catch {
    // fall through to the typed error
  }
  throw new InvalidContinueError(token);
}
