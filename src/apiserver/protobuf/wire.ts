// Protobuf wire format reading, driven by the embedded schema: bytes → a record of present fields.
import type { FieldInfo, MessageInfo } from './schema.ts';

/** Malformed bytes; decode.ts wraps it with what was being decoded. */
export class WireError extends Error {}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

// Not fatal: Go does not validate proto2 strings, and its JSON encoder turns bad bytes into U+FFFD.
const utf8 = new TextDecoder('utf-8');

class WireReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new WireError('truncated varint');
    return this.buf[this.pos++] as number;
  }

  /** Low 32 bits of a varint (int32 negatives are sign-extended to 10 bytes on the wire). */
  varint32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift >= 70) throw new WireError('varint longer than 10 bytes');
      const b = this.byte();
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  }

  varint64(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift >= 70n) throw new WireError('varint longer than 10 bytes');
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
  }

  /** Bounds of a length-delimited value; advances past it. */
  delimited(): [number, number] {
    const length = this.varint32() >>> 0;
    const start = this.pos;
    if (start + length > this.end) throw new WireError(`length ${length} runs past the end of the message`);
    this.pos = start + length;
    return [start, start + length];
  }

  fixed(bytes: 4 | 8): DataView {
    if (this.pos + bytes > this.end) throw new WireError('truncated fixed-width value');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, bytes);
    this.pos += bytes;
    return view;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.fixed(8);
        return;
      case WIRE_LENGTH:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.fixed(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
}

/**
 * A decoded message: present fields only, keyed by proto field name. Scalars are JS values (int64 as
 * bigint, bytes as Uint8Array), message fields stay as their bytes (decoded when converted), repeated
 * fields are arrays and map fields are `[key, value][]`.
 */
export type WireRecord = Record<string, unknown>;

export function decodeMessage(info: MessageInfo, buf: Uint8Array, start = 0, end = buf.length): WireRecord {
  const reader = new WireReader(buf, start, end);
  const record: WireRecord = Object.create(null) as WireRecord;
  while (reader.pos < reader.end) {
    const tag = reader.varint32() >>> 0;
    const id = tag >>> 3;
    const wireType = tag & 7;
    const field = info.byId.get(id);
    if (!field) {
      // Fields newer than our schema are skipped, as Go's decoder does.
      reader.skip(wireType);
      continue;
    }
    if (field.mapKeyType !== undefined) {
      expectWire(field, wireType, WIRE_LENGTH);
      const [s, e] = reader.delimited();
      const list = (record[field.name] ??= []) as [string, unknown][];
      list.push(decodeMapEntry(field, buf, s, e));
    } else if (field.repeated) {
      const list = (record[field.name] ??= []) as unknown[];
      if (wireType === WIRE_LENGTH && !field.isMessage && isPackable(field.type)) {
        const [s, e] = reader.delimited();
        const packed = new WireReader(buf, s, e);
        while (packed.pos < packed.end) list.push(readValue(packed, field, packedWireType(field.type)));
      } else {
        list.push(readValue(reader, field, wireType));
      }
    } else if (field.isMessage) {
      // A message field seen twice is merged; concatenating the encodings is exactly that.
      const value = readValue(reader, field, wireType) as Uint8Array;
      const previous = record[field.name];
      record[field.name] = previous instanceof Uint8Array ? concat(previous, value) : value;
    } else {
      record[field.name] = readValue(reader, field, wireType);
    }
  }
  return record;
}

function decodeMapEntry(field: FieldInfo, buf: Uint8Array, start: number, end: number): [string, unknown] {
  const reader = new WireReader(buf, start, end);
  let key = '';
  let value: unknown;
  const valueField: FieldInfo = { ...field, repeated: false };
  delete valueField.mapKeyType;
  while (reader.pos < reader.end) {
    const tag = reader.varint32() >>> 0;
    const wireType = tag & 7;
    if (tag >>> 3 === 1) {
      expectWire(field, wireType, WIRE_LENGTH);
      const [s, e] = reader.delimited();
      key = decodeUtf8(buf, s, e);
    } else if (tag >>> 3 === 2) {
      value = readValue(reader, valueField, wireType);
    } else {
      reader.skip(wireType);
    }
  }
  return [key, value];
}

function readValue(reader: WireReader, field: FieldInfo, wireType: number): unknown {
  if (field.isMessage) {
    expectWire(field, wireType, WIRE_LENGTH);
    const [s, e] = reader.delimited();
    return reader.buf.subarray(s, e);
  }
  switch (field.type) {
    case 'string': {
      expectWire(field, wireType, WIRE_LENGTH);
      const [s, e] = reader.delimited();
      return decodeUtf8(reader.buf, s, e);
    }
    case 'bytes': {
      expectWire(field, wireType, WIRE_LENGTH);
      const [s, e] = reader.delimited();
      return reader.buf.subarray(s, e);
    }
    case 'bool':
      expectWire(field, wireType, WIRE_VARINT);
      return reader.varint64() !== 0n;
    case 'int32':
      expectWire(field, wireType, WIRE_VARINT);
      return reader.varint32() | 0;
    case 'uint32':
      expectWire(field, wireType, WIRE_VARINT);
      return reader.varint32() >>> 0;
    case 'int64':
      expectWire(field, wireType, WIRE_VARINT);
      return BigInt.asIntN(64, reader.varint64());
    case 'uint64':
      expectWire(field, wireType, WIRE_VARINT);
      return reader.varint64();
    case 'double':
      expectWire(field, wireType, WIRE_FIXED64);
      return reader.fixed(8).getFloat64(0, true);
    case 'float':
      expectWire(field, wireType, WIRE_FIXED32);
      return reader.fixed(4).getFloat32(0, true);
    default:
      throw new WireError(`field ${field.name} has unsupported type ${field.type}`);
  }
}

function isPackable(type: string): boolean {
  return type !== 'string' && type !== 'bytes';
}

function packedWireType(type: string): number {
  if (type === 'double') return WIRE_FIXED64;
  if (type === 'float') return WIRE_FIXED32;
  return WIRE_VARINT;
}

function expectWire(field: FieldInfo, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new WireError(`field ${field.name} (${field.id}) has wire type ${actual}, expected ${expected}`);
  }
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, end));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
