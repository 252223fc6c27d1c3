// Accept-header negotiation: which serialization (JSON/YAML) and which transformation (Table,
// PartialObjectMetadata[List]) a client asked for. We never produce protobuf: clients that list
// JSON after protobuf get JSON; a protobuf-only Accept gets 406.

import { badRequest, notAcceptable } from '../../api/status.ts';

export type OutputAs = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

export interface Negotiated {
  format: 'json' | 'yaml';
  as?: OutputAs;
  /** meta.k8s.io version of the transformation (v1 or v1beta1). */
  asVersion?: string;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [typeRaw, ...paramParts] = part.split(';');
    const type = (typeRaw ?? '').trim().toLowerCase();
    if (!type) continue;
    const params: Record<string, string> = {};
    for (const p of paramParts) {
      const i = p.indexOf('=');
      if (i < 0) continue;
      params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"|"$/g, '');
    }
    const q = params.q !== undefined ? Number(params.q) : 1;
    out.push({ type, params, q: Number.isFinite(q) ? q : 1 });
  }
  // Stable sort by q; equal q keeps the client's order, which is how clients rank alternatives.
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.q - a.m.q || a.i - b.i).map((x) => x.m);
}

export const SERVED_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/** `allowAs`: the transformations this endpoint supports (object reads allow all three). */
export function negotiate(header: string | undefined, allowAs: readonly OutputAs[]): Negotiated {
  const ranges = parseAccept(header);
  if (ranges.length === 0) return { format: 'json' };
  for (const r of ranges) {
    if (r.q <= 0) continue;
    const format = r.type === 'application/yaml' ? 'yaml' : r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*' ? 'json' : undefined;
    if (!format) continue;
    const as = r.params.as;
    if (as === undefined) return { format };
    if (r.params.g !== 'meta.k8s.io' || (r.params.v !== 'v1' && r.params.v !== 'v1beta1')) continue;
    if (!(allowAs as readonly string[]).includes(as)) continue;
    return { format, as: as as OutputAs, asVersion: r.params.v };
  }
  throw notAcceptable(SERVED_MEDIA_TYPES);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(v: string | undefined): IncludeObject {
  if (v === undefined || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
}
