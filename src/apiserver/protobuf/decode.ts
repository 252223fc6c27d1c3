// Request bodies in `application/vnd.kubernetes.protobuf` (kubectl >= 1.32 typed clients, helm 4)
// turned into the JSON object the same client would have sent as `application/json`, so the rest of
// the API server only ever sees JSON.
//
// The JSON form follows Go's encoding/json on the 1.35 Go types (checked against kubectl's own
// `--dry-run=client -o json`): non-pointer struct fields are always written (`"status":{}`,
// `"resources":{}`, an unset Time as null), omitempty drops zero scalars and empty lists/maps,
// omitzero drops zero values (an unset metadata.creationTimestamp), pointers are written whenever set
// (so `replicas: 0` survives). `{ omitEmpty: true }` instead drops every empty value except set pointers.
import { APIEXTENSIONS_V1, META_V1, protoSchema } from './schema.ts';
import type { FieldInfo, MessageInfo, ProtoSchema } from './schema.ts';
import { WireError, decodeMessage } from './wire.ts';
import type { WireRecord } from './wire.ts';

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The body could not be decoded; the message says why (for a 400 Status). */
export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
}

export interface DecodeOptions {
  /** Drop nulls, zero scalars and empty objects/lists unless they come from a set Go pointer. */
  omitEmpty?: boolean;
}

const UNKNOWN = 'k8s.io.apimachinery.pkg.runtime.Unknown';
const TYPE_META = 'k8s.io.apimachinery.pkg.runtime.TypeMeta';

/**
 * Decodes a `k8s\0`-prefixed runtime.Unknown envelope into a JSON object with `kind`/`apiVersion`
 * taken from the envelope. Throws ProtobufDecodeError on anything it cannot decode.
 */
export function decodeProtobufObject(body: Uint8Array, options: DecodeOptions = {}): Record<string, unknown> {
  if (body.length < PROTOBUF_MAGIC.length || !PROTOBUF_MAGIC.equals(body.subarray(0, PROTOBUF_MAGIC.length))) {
    throw new ProtobufDecodeError('protobuf body does not start with the "k8s\\0" magic prefix');
  }
  const schema = protoSchema();
  let envelope: WireRecord;
  let typeMeta: WireRecord;
  try {
    envelope = decodeMessage(schema.message(UNKNOWN), body, PROTOBUF_MAGIC.length);
    const typeMetaBytes = envelope['typeMeta'];
    typeMeta = typeMetaBytes instanceof Uint8Array ? decodeMessage(schema.message(TYPE_META), typeMetaBytes) : {};
  } catch (err) {
    throw new ProtobufDecodeError(`malformed protobuf envelope (runtime.Unknown): ${errorText(err)}`);
  }
  const apiVersion = typeof typeMeta['apiVersion'] === 'string' ? typeMeta['apiVersion'] : '';
  const kind = typeof typeMeta['kind'] === 'string' ? typeMeta['kind'] : '';
  if (apiVersion === '' || kind === '') {
    throw new ProtobufDecodeError(`protobuf envelope lacks apiVersion or kind (apiVersion="${apiVersion}", kind="${kind}")`);
  }
  const contentEncoding = String(envelope['contentEncoding'] ?? '');
  if (contentEncoding !== '') {
    throw new ProtobufDecodeError(`unsupported protobuf contentEncoding "${contentEncoding}"`);
  }
  const contentType = String(envelope['contentType'] ?? '');
  if (contentType !== '' && contentType !== PROTOBUF_CONTENT_TYPE) {
    throw new ProtobufDecodeError(`unsupported contentType "${contentType}" inside the protobuf envelope`);
  }
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const info = schema.lookupKind(group, version, kind);
  if (!info) {
    throw new ProtobufDecodeError(`no protobuf schema for kind "${kind}" in "${apiVersion}"; send it as application/json`);
  }
  const raw = envelope['raw'];
  const converter = new GoJsonConverter(schema, options.omitEmpty === true);
  try {
    const fields = converter.struct(info, decodeMessage(info, raw instanceof Uint8Array ? raw : new Uint8Array()));
    return { kind, apiVersion, ...fields };
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw err;
    if (err instanceof WireError) throw new ProtobufDecodeError(`malformed protobuf ${kind} (${apiVersion}): ${err.message}`);
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Decoded wire records → Go JSON values, using the Go field facts from the schema. */
class GoJsonConverter {
  constructor(
    private readonly schema: ProtoSchema,
    private readonly omitEmpty: boolean,
  ) {}

  /** A message value (its bytes, or undefined for a Go zero value), honouring Go's own MarshalJSON types. */
  message(typeName: string, bytes: Uint8Array | undefined): unknown {
    const info = this.schema.message(typeName);
    const msg = bytes === undefined ? ({} as WireRecord) : decodeMessage(info, bytes);
    switch (typeName) {
      case `${META_V1}.Time`:
        // An unset Time is written as an empty message; Go's zero time marshals as null.
        return bytes === undefined || bytes.length === 0 ? null : formatTime(toBigInt(msg['seconds']), 0);
      case `${META_V1}.MicroTime`:
        return bytes === undefined || bytes.length === 0 ? null : formatTime(toBigInt(msg['seconds']), Number(msg['nanos'] ?? 0), true);
      case `${META_V1}.Duration`:
        return goDuration(toBigInt(msg['duration']));
      case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      case 'k8s.io.apimachinery.pkg.api.resource.QuantityValue':
        // Go re-parses the string; a client-written Quantity is already canonical.
        return typeof msg['string'] === 'string' && msg['string'] !== '' ? msg['string'] : '0';
      case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
        return toNumber(msg['type']) === 1 ? String(msg['strVal'] ?? '') : toNumber(msg['intVal']);
      case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
      case `${APIEXTENSIONS_V1}.JSON`:
        return this.rawJson(msg['raw'], typeName);
      case `${META_V1}.FieldsV1`:
        return this.rawJson(msg['Raw'], typeName);
      case `${APIEXTENSIONS_V1}.JSONSchemaPropsOrBool`:
        if (msg['schema'] instanceof Uint8Array) return this.message(`${APIEXTENSIONS_V1}.JSONSchemaProps`, msg['schema']);
        return msg['allows'] === true;
      case `${APIEXTENSIONS_V1}.JSONSchemaPropsOrArray`: {
        const list = (msg['JSONSchemas'] ?? []) as Uint8Array[];
        if (list.length > 0) return list.map((s) => this.message(`${APIEXTENSIONS_V1}.JSONSchemaProps`, s));
        return msg['schema'] instanceof Uint8Array ? this.message(`${APIEXTENSIONS_V1}.JSONSchemaProps`, msg['schema']) : null;
      }
      case `${APIEXTENSIONS_V1}.JSONSchemaPropsOrStringArray`: {
        const list = (msg['Property'] ?? []) as string[];
        if (list.length > 0) return list;
        return msg['schema'] instanceof Uint8Array ? this.message(`${APIEXTENSIONS_V1}.JSONSchemaProps`, msg['schema']) : null;
      }
    }
    if (info.listWrapper) {
      const itemsField = info.fields.find((f) => f.name === 'items');
      const items = (msg['items'] ?? []) as unknown[];
      if (!itemsField || items.length === 0) return null;
      return items.map((item) => this.element(itemsField, item));
    }
    return this.struct(info, msg);
  }

  /** A Go struct: one JSON member per proto field, inlined structs merged in. */
  struct(info: MessageInfo, msg: WireRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of info.fields) {
      const facts = field.facts;
      const value = msg[field.name];
      const present = value !== undefined;
      // Go writes a nil slice/map/pointer as null unless omitempty.
      const writeNil = (): void => {
        if (!facts.omitempty && !facts.omitzero && !this.omitEmpty) out[facts.jsonName] = null;
      };

      if (field.mapKeyType !== undefined) {
        const entries = (value ?? []) as [string, unknown][];
        if (entries.length === 0) {
          writeNil();
          continue;
        }
        const obj: Record<string, unknown> = {};
        for (const [key, item] of entries) {
          // defineProperty so that a key like "__proto__" stays an ordinary member.
          Object.defineProperty(obj, key, { value: this.element(field, item), enumerable: true, writable: true, configurable: true });
        }
        out[facts.jsonName] = obj;
        continue;
      }
      if (field.repeated) {
        const items = (value ?? []) as unknown[];
        if (items.length === 0) {
          writeNil();
          continue;
        }
        out[facts.jsonName] = items.map((item) => this.element(field, item));
        continue;
      }
      if (field.isMessage) {
        if (!present && facts.pointer) {
          writeNil();
          continue;
        }
        const json = this.message(field.type, value as Uint8Array | undefined);
        if (facts.inline) {
          if (json !== null && typeof json === 'object' && !Array.isArray(json)) Object.assign(out, json);
          continue;
        }
        if (this.omitEmpty && !facts.pointer && isEmptyJson(json)) continue;
        if (facts.omitzero && (json === null || this.isGoZero(field.type, json))) continue;
        out[facts.jsonName] = json;
        continue;
      }
      if (field.type === 'bytes') {
        // []byte is never a pointer: nil when absent, base64 when set.
        if (!present) writeNil();
        else if ((value as Uint8Array).length > 0 || (!facts.omitempty && !this.omitEmpty)) out[facts.jsonName] = base64(value as Uint8Array);
        continue;
      }
      if (facts.pointer) {
        if (present) out[facts.jsonName] = this.scalar(field, value);
        else writeNil();
        continue;
      }
      const json = this.scalar(field, value);
      if ((facts.omitempty || facts.omitzero || this.omitEmpty) && (json === '' || json === 0 || json === false)) continue;
      out[facts.jsonName] = json;
    }
    return out;
  }

  /** Whether `json` is what the Go zero value of the message type marshals to. */
  private isGoZero(typeName: string, json: unknown): boolean {
    return JSON.stringify(json) === JSON.stringify(this.message(typeName, undefined));
  }

  /** One list element or map value. */
  private element(field: FieldInfo, value: unknown): unknown {
    if (field.isMessage) return this.message(field.type, value instanceof Uint8Array ? value : undefined);
    return this.scalar(field, value);
  }

  /** A scalar; undefined means the proto2 default, i.e. the Go zero value. */
  private scalar(field: FieldInfo, value: unknown): unknown {
    switch (field.type) {
      case 'string':
        return value === undefined ? '' : String(value);
      case 'bool':
        return value === true;
      case 'bytes':
        return base64(value instanceof Uint8Array ? value : new Uint8Array());
      default:
        // Numbers; Go writes int64 as a plain JSON number too.
        return toNumber(value);
    }
  }

  private rawJson(raw: unknown, what: string): unknown {
    if (!(raw instanceof Uint8Array) || raw.length === 0) return null;
    // client-go encodes an embedded object in the body's own serialization.
    if (raw.length >= 4 && PROTOBUF_MAGIC.equals(raw.subarray(0, 4))) {
      return decodeProtobufObject(raw, { omitEmpty: this.omitEmpty });
    }
    try {
      return JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as unknown;
    } catch (err) {
      throw new ProtobufDecodeError(`${what} holds bytes that are neither JSON nor protobuf: ${errorText(err)}`);
    }
  }
}

function isEmptyJson(json: unknown): boolean {
  if (json === null || json === '' || json === 0 || json === false) return true;
  if (Array.isArray(json)) return json.length === 0;
  return typeof json === 'object' && Object.keys(json).length === 0;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  return 0n;
}

/**
 * metav1.Time marshals as RFC3339 in UTC with whole seconds (its protobuf form drops nanos);
 * MicroTime as RFC3339 with exactly six fraction digits.
 */
function formatTime(seconds: bigint, nanos: number, micro = false): string {
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2006-01-02T15:04:05.000Z
  const whole = iso.slice(0, iso.indexOf('.'));
  if (!micro) return `${whole}Z`;
  const micros = Math.floor(Math.max(0, nanos) / 1000);
  return `${whole}.${String(micros).padStart(6, '0')}Z`;
}

/** Go's time.Duration.String(): "0s", "1.5µs", "250ms", "1h2m3.5s". */
export function goDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return '0s';
  const negative = nanoseconds < 0n;
  let rest = negative ? -nanoseconds : nanoseconds;
  let text: string;
  if (rest < 1_000n) text = `${rest}ns`;
  else if (rest < 1_000_000n) text = `${fixedPoint(rest, 3)}µs`;
  else if (rest < 1_000_000_000n) text = `${fixedPoint(rest, 6)}ms`;
  else {
    text = `${fixedPoint(rest % 60_000_000_000n, 9)}s`;
    rest /= 60_000_000_000n;
    if (rest > 0n) {
      text = `${rest % 60n}m${text}`;
      rest /= 60n;
      if (rest > 0n) text = `${rest}h${text}`;
    }
  }
  return negative ? `-${text}` : text;
}

/** `value / 10^digits` in decimal, trailing fraction zeros (and a bare point) removed. */
function fixedPoint(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const fraction = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction === '' ? `${value / scale}` : `${value / scale}.${fraction}`;
}

/** Milliseconds the schema took to build, building it now if nobody has yet. */
export function protobufSchemaLoadMillis(): number {
  return protoSchema().loadMillis;
}
