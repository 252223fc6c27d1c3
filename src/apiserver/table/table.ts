// Server-side printing: objects and lists as meta.k8s.io Tables (what `kubectl get` shows), and
// PartialObjectMetadata[List] for metadata-only clients.

import { rfc3339 } from '../../api/meta.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { ResourceDef, TableColumn, TablePrinter } from '../../registry/types.ts';
import type { IncludeObject } from '../encoding/negotiate.ts';

const DEFAULT_PRINTER: TablePrinter = {
  columns: [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
      priority: 0,
    },
    {
      name: 'Created At',
      type: 'date',
      format: '',
      description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
      priority: 0,
    },
  ],
  cells: (o) => [o.metadata?.name ?? '', o.metadata?.creationTimestamp ?? rfc3339(0)],
};

function columnDefs(cols: readonly TableColumn[]) {
  return cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }));
}

export function partialObjectMetadata(o: KubeObject, version = 'v1'): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: o.metadata ?? {} };
}

export function printerFor(def: ResourceDef): TablePrinter {
  return def.table ?? DEFAULT_PRINTER;
}

function row(printer: TablePrinter, o: KubeObject, include: IncludeObject, now: number, version: string) {
  const r: Record<string, unknown> = { cells: printer.cells(o, now) };
  if (include === 'Object') r.object = o;
  else if (include === 'Metadata') r.object = partialObjectMetadata(o, version);
  return r;
}

export interface TableOptions {
  include: IncludeObject;
  now: number;
  /** meta.k8s.io version asked for (v1 or v1beta1). */
  version?: string;
  /** Omit columnDefinitions (watch events after the first). */
  noHeaders?: boolean;
}

export function objectsToTable(def: ResourceDef, objs: readonly KubeObject[], listMeta: Record<string, unknown>, opts: TableOptions): KubeObject {
  const printer = printerFor(def);
  const version = opts.version ?? 'v1';
  const table: Record<string, unknown> = { kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: listMeta };
  table.columnDefinitions = opts.noHeaders ? null : columnDefs(printer.columns);
  table.rows = objs.map((o) => row(printer, o, opts.include, opts.now, version));
  return table as KubeObject;
}

/** A single object or a `<Kind>List` to a Table. */
export function toTable(def: ResourceDef, body: KubeObject, opts: TableOptions): KubeObject {
  const items = (body as { items?: KubeObject[] }).items;
  if (Array.isArray(items) && body.kind === `${def.kind}List`) {
    return objectsToTable(def, items, (body.metadata as Record<string, unknown>) ?? {}, opts);
  }
  const meta: Record<string, unknown> = {};
  if (body.metadata?.resourceVersion) meta.resourceVersion = body.metadata.resourceVersion;
  return objectsToTable(def, [body], meta, opts);
}

export function toPartialList(body: KubeObject, version = 'v1'): KubeObject {
  const items = ((body as { items?: KubeObject[] }).items ?? []).map((o) => partialObjectMetadata(o, version));
  return { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${version}`, metadata: body.metadata ?? {}, items } as KubeObject;
}
