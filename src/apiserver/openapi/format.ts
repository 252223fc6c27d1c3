// The shape of embedded/openapi/k8s-openapi.json, shared by scripts/gen-openapi.ts (writer) and
// the server (reader).

/** What is stored on disk: the table below, brotli-compressed and base64-encoded. */
export interface OpenApiWrapper {
  format: 'nanokube-openapi/1';
  encoding: 'br+base64';
  /** Length of the inflated JSON, to size the buffer and sanity-check the data. */
  rawBytes: number;
  data: string;
}

/** The inflated table. Schemas are shared by all group-versions; each names the ones it needs. */
export interface EmbeddedOpenApi {
  source: { kubernetesVersion: string; form: 'swagger-v2' | 'openapi-v3'; sha256: string };
  /** Component schemas in OpenAPI v3 form, without descriptions, keyed by upstream's name. */
  schemas: Record<string, unknown>;
  /** Keyed like the /openapi/v3 index: `api/v1`, `apis/<group>/<version>`. */
  groupVersions: Record<string, { paths: Record<string, unknown>; schemas: string[] }>;
}
