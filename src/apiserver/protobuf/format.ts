// The shape of embedded/proto/k8s-api.json, shared by scripts/gen-proto.ts (writer) and the
// decoder (reader).

/**
 * What is stored on disk: a small JSON wrapper around the brotli-compressed, base64-encoded schema.
 * A string literal costs the bundle almost nothing at start-up; the schema is inflated on the first
 * protobuf request.
 */
export interface ProtoSchemaWrapper {
  format: 'nanokube-proto/1';
  encoding: 'br+base64';
  /** Upstream tag and commit per source repository, to know what to regenerate from. */
  generatedFrom: Record<string, string>;
  /** Length of the inflated JSON, to check the data. */
  rawBytes: number;
  data: string;
}

/** The inflated schema. */
export interface EmbeddedProtoSchema {
  /** protobufjs JSON descriptor (`Root.toJSON()`, no comments), fully qualified type names. */
  nested: Record<string, unknown>;
  /**
   * Go JSON facts per message full name, per proto field name: flags, then `:jsonName` when the Go
   * json name differs from the proto name. Flags: `p` Go pointer (zero values are kept when set),
   * `o` omitempty, `z` omitzero (Go 1.24: dropped when the Go zero value, e.g. an unset Time), `i` inlined (embedded) struct whose fields belong to the parent JSON object.
   */
  goFields: Record<string, Record<string, string>>;
  /** Messages that are Go `type X []T` (one `items` field) and so marshal as a bare JSON array. */
  listWrappers: string[];
}
