// Request body decoding inside the resource API's fastify context: JSON, YAML, protobuf and the
// patch media types. Bodies in any other type are kept as a marker so the route can answer 415
// with the list that fits the verb (patch types for PATCH, object types otherwise).

import type { FastifyInstance } from 'fastify';
import YAML from 'yaml';
import { badRequest } from '../../api/status.ts';
import { decodeProtobufObject, ProtobufDecodeError } from '../protobuf/decode.ts';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** What a body parser hands the route when the media type is not one we read. */
export class UnsupportedBody {
  constructor(readonly contentType: string) {}
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw badRequest(`json: ${(e as Error).message}`);
  }
}

function parseYaml(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return YAML.parse(buf.toString('utf8'), { version: '1.1' });
  } catch (e) {
    throw badRequest(`yaml: ${(e as Error).message}`);
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const opts = { parseAs: 'buffer' as const, bodyLimit: MAX_BODY_BYTES };
  app.addContentTypeParser(
    ['application/json', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'],
    opts,
    (_req, body, done) => {
      try {
        done(null, parseJson(body as unknown as Buffer));
      } catch (e) {
        done(e as Error, undefined);
      }
    },
  );
  app.addContentTypeParser(['application/yaml', 'application/apply-patch+yaml'], opts, (_req, body, done) => {
    try {
      done(null, parseYaml(body as unknown as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('application/vnd.kubernetes.protobuf', opts, (_req, body, done) => {
    try {
      done(null, decodeProtobufObject(body as unknown as Buffer, { omitEmpty: true }));
    } catch (e) {
      if (e instanceof ProtobufDecodeError) done(badRequest(e.message), undefined);
      else done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('*', opts, (req, _body, done) => {
    done(null, new UnsupportedBody(String(req.headers['content-type'] ?? '')));
  });
}
