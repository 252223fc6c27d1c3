// The embedded Kubernetes protobuf schema: inflated on first use; each message's field table is built
// only when a body first needs it (building protobufjs types for all ~1400 messages up front costs a
// few hundred milliseconds, which a first `kubectl create` should not pay).
import { brotliDecompressSync } from 'node:zlib';
import wrapper from '../../../embedded/proto/k8s-api.json' with { type: 'json' };
import type { EmbeddedProtoSchema, ProtoSchemaWrapper } from './format.ts';

/** How one proto field marshals to Go JSON. */
export interface GoFieldFacts {
  jsonName: string;
  /** Go pointer: nil when absent on the wire, kept even when zero when present. */
  pointer: boolean;
  omitempty: boolean;
  /** Go 1.24 omitzero: dropped when it is the Go zero value (ObjectMeta.creationTimestamp since 1.33). */
  omitzero: boolean;
  /** Embedded struct (`json:",inline"`): its fields go into the parent object. */
  inline: boolean;
}

export type ScalarType = 'string' | 'bool' | 'bytes' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'double' | 'float';

export interface FieldInfo {
  /** Proto field name, the key in decoded records. */
  name: string;
  id: number;
  /** A scalar type, or the full name of a message type. */
  type: string;
  isMessage: boolean;
  repeated: boolean;
  /** Set for map fields (always `string` in Kubernetes). */
  mapKeyType?: string;
  facts: GoFieldFacts;
}

export interface MessageInfo {
  fullName: string;
  /** In .proto order, which is the Go struct order. */
  fields: FieldInfo[];
  byId: Map<number, FieldInfo>;
  /** Go `type X []T`: marshals as the bare list in its `items` field. */
  listWrapper: boolean;
}

export interface ProtoSchema {
  /** Message for a kind in a group/version, or undefined when the schema has none. */
  lookupKind(group: string, version: string, kind: string): MessageInfo | undefined;
  message(fullName: string): MessageInfo;
  /** Milliseconds spent inflating and parsing the schema. */
  loadMillis: number;
}

export const META_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1';
export const APIEXTENSIONS_V1 = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';
// Option kinds that client-go sends under the target resource's group/version (a typed delete sends
// DeleteOptions with apiVersion "v1" or "apps/v1", …) but which only exist in meta/v1.
const META_OPTION_KINDS = new Set(['DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions', 'GetOptions', 'ListOptions']);

/** Proto package of a group/version: "" → k8s.io.api.core.v1, rbac.authorization.k8s.io → k8s.io.api.rbac.v1, … */
export function protoPackageFor(group: string, version: string): string {
  if (group === 'meta.k8s.io') return `k8s.io.apimachinery.pkg.apis.meta.${version}`;
  if (group === 'apiextensions.k8s.io') return `k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.${version}`;
  // Upstream names each API package after the group's first DNS label (flowcontrol.apiserver.k8s.io
  // → flowcontrol, rbac.authorization.k8s.io → rbac); the legacy group "" is "core".
  const dir = group === '' ? 'core' : (group.split('.')[0] ?? group);
  return `k8s.io.api.${dir}.${version}`;
}

interface DescriptorField {
  type: string;
  id: number;
  rule?: string;
  keyType?: string;
}
interface DescriptorNode {
  nested?: Record<string, DescriptorNode>;
  fields?: Record<string, DescriptorField>;
}

let loaded: ProtoSchema | undefined;

/** The schema, inflated on the first call and cached. */
export function protoSchema(): ProtoSchema {
  loaded ??= buildSchema();
  return loaded;
}

function buildSchema(): ProtoSchema {
  const started = performance.now();
  const stored = wrapper as ProtoSchemaWrapper;
  if (stored.format !== 'nanokube-proto/1' || stored.encoding !== 'br+base64') {
    throw new Error(`embedded/proto: unknown format ${String(stored.format)}/${String(stored.encoding)}`);
  }
  const json = brotliDecompressSync(Buffer.from(stored.data, 'base64'));
  if (json.length !== stored.rawBytes) {
    throw new Error(`embedded/proto: inflated to ${json.length} bytes, expected ${stored.rawBytes}`);
  }
  const schema = JSON.parse(json.toString('utf8')) as EmbeddedProtoSchema;
  const listWrappers = new Set(schema.listWrappers);
  const compiled = new Map<string, MessageInfo | null>();

  const descriptorNode = (fullName: string): DescriptorNode | undefined => {
    let node: DescriptorNode | undefined = { nested: schema.nested as Record<string, DescriptorNode> };
    // Package names contain no dots inside a component, so splitting on "." walks the tree.
    for (const part of fullName.split('.')) {
      node = node?.nested?.[part];
      if (!node) return undefined;
    }
    return node;
  };

  const compile = (fullName: string): MessageInfo | null => {
    const cached = compiled.get(fullName);
    if (cached !== undefined) return cached;
    const node = descriptorNode(fullName);
    if (!node?.fields) {
      compiled.set(fullName, null);
      return null;
    }
    const goFields = schema.goFields[fullName] ?? {};
    const fields: FieldInfo[] = Object.entries(node.fields).map(([name, f]) => {
      const isMessage = f.type.startsWith('.');
      const field: FieldInfo = {
        name,
        id: f.id,
        type: isMessage ? f.type.slice(1) : f.type,
        isMessage,
        repeated: f.rule === 'repeated',
        facts: parseFacts(name, goFields[name]),
      };
      if (f.keyType !== undefined) field.mapKeyType = f.keyType;
      return field;
    });
    const info: MessageInfo = {
      fullName,
      fields,
      byId: new Map(fields.map((f) => [f.id, f])),
      listWrapper: listWrappers.has(fullName),
    };
    compiled.set(fullName, info);
    return info;
  };

  return {
    lookupKind(group, version, kind) {
      const found = compile(`${protoPackageFor(group, version)}.${kind}`);
      if (found) return found;
      return META_OPTION_KINDS.has(kind) ? (compile(`${META_V1}.${kind}`) ?? undefined) : undefined;
    },
    message(fullName) {
      const info = compile(fullName);
      if (!info) throw new Error(`embedded/proto: no message ${fullName}`);
      return info;
    },
    loadMillis: performance.now() - started,
  };
}

/** Decodes the generator's "flags[:jsonName]" (flags p pointer, o omitempty, z omitzero, i inline). */
function parseFacts(protoName: string, encoded: string | undefined): GoFieldFacts {
  // No Go struct seen for this field (hand-written upstream types): treat it as an optional pointer.
  if (encoded === undefined) return { jsonName: protoName, pointer: true, omitempty: true, omitzero: false, inline: false };
  const colon = encoded.indexOf(':');
  const flags = colon < 0 ? encoded : encoded.slice(0, colon);
  return {
    jsonName: colon < 0 ? protoName : encoded.slice(colon + 1),
    pointer: flags.includes('p'),
    omitempty: flags.includes('o'),
    omitzero: flags.includes('z'),
    inline: flags.includes('i'),
  };
}
