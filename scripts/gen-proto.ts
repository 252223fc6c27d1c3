// Builds embedded/proto/k8s-api.json: the protobuf schema of every GA Kubernetes API group plus the
// Go JSON facts (json names, inlined structs, pointer/omitempty) that the proto files do not carry.
//
// The repo ships only the output; the build never runs this. To regenerate, point it at the three
// upstream repositories (a bare git dir or a checkout each) and a tag present in all three:
//
//   node --import tsx scripts/gen-proto.ts \
//     --api /path/to/kubernetes/api --apimachinery /path/to/kubernetes/apimachinery \
//     --apiextensions /path/to/kubernetes/apiextensions-apiserver --ref v0.35.7
//
// (kubernetes/api etc. are the published staging mirrors of kubernetes/kubernetes; with a checkout,
// --ref is ignored and the work tree is read as is.) `--plain FILE` also writes the inflated JSON
// for reading.
//
// Inputs per package: generated.proto (messages, field numbers and types) and the package's
// non-test Go sources (struct field tags `json:"..."` and `protobuf:"...,name=..."`, `*T` pointers,
// `type X []T` list wrappers). Only tag facts are kept; no comments or prose.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import protobuf from 'protobufjs';
import type { EmbeddedProtoSchema, ProtoSchemaWrapper } from '../src/apiserver/protobuf/format.ts';

type RepoName = 'api' | 'apimachinery' | 'apiextensions';

interface PackageSource {
  repo: RepoName;
  dir: string;
}

// GA group versions only; beta/alpha kinds are not written by kubectl's typed clients.
const PACKAGES: PackageSource[] = [
  ...['pkg/apis/meta/v1', 'pkg/api/resource', 'pkg/util/intstr', 'pkg/runtime', 'pkg/runtime/schema'].map(
    (dir) => ({ repo: 'apimachinery' as const, dir }),
  ),
  ...[
    'admission/v1',
    'admissionregistration/v1',
    'apidiscovery/v2',
    'apps/v1',
    'authentication/v1',
    'authorization/v1',
    'autoscaling/v1',
    'autoscaling/v2',
    'batch/v1',
    'certificates/v1',
    'coordination/v1',
    'core/v1',
    'discovery/v1',
    'events/v1',
    'flowcontrol/v1',
    'networking/v1',
    'node/v1',
    'policy/v1',
    'rbac/v1',
    'resource/v1',
    'scheduling/v1',
    'storage/v1',
  ].map((dir) => ({ repo: 'api' as const, dir })),
  { repo: 'apiextensions', dir: 'pkg/apis/apiextensions/v1' },
];

class RepoReader {
  private readonly isGit: boolean;
  constructor(
    private readonly path: string,
    private readonly ref: string,
  ) {
    this.isGit = existsSync(join(path, 'objects')) && existsSync(join(path, 'HEAD'));
  }
  read(file: string): string {
    if (!this.isGit) return readFileSync(join(this.path, file), 'utf8');
    return execFileSync('git', ['--git-dir', this.path, 'show', `${this.ref}:${file}`], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
  }
  list(dir: string): string[] {
    if (!this.isGit) {
      return readdirSync(join(this.path, dir)).filter((f) => statSync(join(this.path, dir, f)).isFile());
    }
    const out = execFileSync('git', ['--git-dir', this.path, 'ls-tree', '--name-only', `${this.ref}:${dir}`], {
      encoding: 'utf8',
    });
    return out.split('\n').filter(Boolean);
  }
  describe(): string {
    if (!this.isGit) return this.path;
    const commit = execFileSync('git', ['--git-dir', this.path, 'rev-parse', `${this.ref}^{commit}`], {
      encoding: 'utf8',
    }).trim();
    return `${this.ref} (${commit})`;
  }
}

/** One Go struct field that maps to a proto field. */
interface GoField {
  protoName: string;
  jsonName: string;
  pointer: boolean;
  omitempty: boolean;
  omitzero: boolean;
  inline: boolean;
}

const STRUCT_START = /^type (\w+) struct \{\s*$/;
// `Name Type `tags`` or an embedded `Type `tags``.
const FIELD_LINE = /^(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`/;
const LIST_TYPE = /^type (\w+) \[\]\S+/;

function tagValue(tags: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}:"([^"]*)"`).exec(tags);
  return m?.[1];
}

/** Struct name → its proto-tagged fields, and the names of `type X []T` declarations. */
function parseGoSources(sources: string[]): { structs: Map<string, GoField[]>; listTypes: Set<string> } {
  const structs = new Map<string, GoField[]>();
  const listTypes = new Set<string>();
  for (const src of sources) {
    let current: GoField[] | undefined;
    let depth = 0;
    for (const raw of src.split('\n')) {
      const line = raw.trim();
      if (current === undefined) {
        const start = STRUCT_START.exec(raw);
        if (start?.[1]) {
          current = [];
          structs.set(start[1], current);
          depth = 1;
          continue;
        }
        const list = LIST_TYPE.exec(raw);
        if (list?.[1]) listTypes.add(list[1]);
        continue;
      }
      if (line.startsWith('//') || line === '') continue;
      // Anonymous nested structs do not occur in API types; track braces only to find the end.
      depth += (line.match(/\{/g)?.length ?? 0) - (line.match(/\}/g)?.length ?? 0);
      if (depth <= 0) {
        current = undefined;
        continue;
      }
      const field = FIELD_LINE.exec(line);
      if (!field) continue;
      const goType = field[2] ?? '';
      const tags = field[3] ?? '';
      const pb = tagValue(tags, 'protobuf');
      if (pb === undefined || pb === '-') continue;
      // Without name=, go-to-protobuf names the field after the Go field (or embedded type), first letter lowered.
      const goName = field[1] ?? goType.replace(/^\*/, '').replace(/^\w+\./, '');
      const protoName = /(?:^|,)name=([^,]+)/.exec(pb)?.[1] ?? goName.charAt(0).toLowerCase() + goName.slice(1);
      const json = tagValue(tags, 'json') ?? '';
      const [jsonName = '', ...opts] = json.split(',');
      current.push({
        protoName,
        jsonName: jsonName === '' ? goName : jsonName,
        pointer: goType.startsWith('*'),
        omitempty: opts.includes('omitempty'),
        omitzero: opts.includes('omitzero'),
        inline: opts.includes('inline'),
      });
    }
  }
  return { structs, listTypes };
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg?.startsWith('--') && value !== undefined) {
      out[arg.slice(2)] = value;
      i++;
    }
  }
  return out;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const ref = args['ref'] ?? 'v0.35.7';
  const missing = ['api', 'apimachinery', 'apiextensions'].filter((k) => !args[k]);
  if (missing.length > 0) {
    console.error(`usage: gen-proto.ts --api DIR --apimachinery DIR --apiextensions DIR [--ref TAG]; missing ${missing.join(', ')}`);
    process.exit(2);
  }
  const repos: Record<RepoName, RepoReader> = {
    api: new RepoReader(args['api'] ?? '', ref),
    apimachinery: new RepoReader(args['apimachinery'] ?? '', ref),
    apiextensions: new RepoReader(args['apiextensions'] ?? '', ref),
  };

  const root = new protobuf.Root();
  // Per proto message full name: field name → "flags[:jsonName]" (flags: p pointer, o omitempty, z omitzero, i inline).
  const goFields: Record<string, Record<string, string>> = {};
  const listWrappers: string[] = [];

  for (const pkg of PACKAGES) {
    const repo = repos[pkg.repo];
    const protoText = repo.read(`${pkg.dir}/generated.proto`);
    const parsed = protobuf.parse(protoText, root, { keepCase: true });
    const protoPackage = parsed.package;
    if (!protoPackage) throw new Error(`${pkg.dir}/generated.proto has no package`);

    const goFiles = repo
      .list(pkg.dir)
      .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go') && !f.startsWith('zz_generated') && !f.includes('.pb.'));
    const { structs, listTypes } = parseGoSources(goFiles.map((f) => repo.read(`${pkg.dir}/${f}`)));

    const ns = root.lookup(protoPackage);
    if (!(ns instanceof protobuf.Namespace)) throw new Error(`package ${protoPackage} not found after parse`);
    for (const nested of ns.nestedArray) {
      if (!(nested instanceof protobuf.Type)) continue;
      const fullName = `${protoPackage}.${nested.name}`;
      if (listTypes.has(nested.name)) listWrappers.push(fullName);
      const fields = structs.get(nested.name);
      if (!fields) continue;
      const entry: Record<string, string> = {};
      for (const f of fields) {
        if (!nested.fields[f.protoName]) {
          throw new Error(`${fullName}: Go tag names proto field ${f.protoName}, which the .proto lacks`);
        }
        const flags = `${f.pointer ? 'p' : ''}${f.omitempty ? 'o' : ''}${f.omitzero ? 'z' : ''}${f.inline ? 'i' : ''}`;
        entry[f.protoName] = f.inline || f.jsonName === f.protoName ? flags : `${flags}:${f.jsonName}`;
      }
      goFields[fullName] = entry;
    }
  }
  root.resolveAll();
  // Write every message reference fully qualified, so readers need no protobuf name-resolution rules.
  const qualify = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) if (field.resolvedType) field.type = field.resolvedType.fullName;
      }
      if (nested instanceof protobuf.Namespace) qualify(nested);
    }
  };
  qualify(root);

  const descriptor = root.toJSON({ keepComments: false });
  const schema: EmbeddedProtoSchema = { nested: descriptor.nested ?? {}, goFields, listWrappers };
  const json = Buffer.from(JSON.stringify(schema));
  const compressed = brotliCompressSync(json, {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
  const wrapper: ProtoSchemaWrapper = {
    format: 'nanokube-proto/1',
    encoding: 'br+base64',
    generatedFrom: Object.fromEntries((Object.keys(repos) as RepoName[]).map((name) => [name, repos[name].describe()])),
    rawBytes: json.length,
    data: compressed.toString('base64'),
  };
  const here = dirname(fileURLToPath(import.meta.url));
  const target = join(here, '..', 'embedded', 'proto', 'k8s-api.json');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(wrapper, null, 1) + '\n');
  if (args['plain']) writeFileSync(args['plain'], JSON.stringify(schema, null, 1) + '\n');
  console.log(
    `wrote ${target}: ${json.length} bytes JSON -> ${compressed.length} bytes brotli (${wrapper.data.length} base64); ` +
      `${Object.keys(goFields).length} messages with Go field facts, ${listWrappers.length} list wrappers`,
  );
}

main();
