// The embedded OpenAPI table: bundled as a small JSON module (compressed), inflated on first use so
// that start-up never pays for it.
import { brotliDecompressSync } from 'node:zlib';
import wrapper from '../../../embedded/openapi/k8s-openapi.json' with { type: 'json' };
import type { EmbeddedOpenApi, OpenApiWrapper } from './format.ts';

let table: EmbeddedOpenApi | undefined;

/** The inflated table; the first call costs a few milliseconds, later calls nothing. */
export function embeddedOpenApi(): EmbeddedOpenApi {
  if (table === undefined) {
    const stored = wrapper as OpenApiWrapper;
    if (stored.format !== 'nanokube-openapi/1' || stored.encoding !== 'br+base64') {
      throw new Error(`embedded/openapi: unknown format ${String(stored.format)}/${String(stored.encoding)}`);
    }
    const json = brotliDecompressSync(Buffer.from(stored.data, 'base64'));
    if (json.length !== stored.rawBytes) {
      throw new Error(`embedded/openapi: inflated to ${json.length} bytes, expected ${stored.rawBytes}`);
    }
    table = JSON.parse(json.toString('utf8')) as EmbeddedOpenApi;
  }
  return table;
}

/** `api/v1` for the core group, `apis/<group>/<version>` otherwise (the /openapi/v3 index keys). */
export function groupVersionKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}
