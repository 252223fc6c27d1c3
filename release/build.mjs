// Builds release/out/nanokube-linux-x64: one file that runs with no Node and no node_modules.
// It is a Node single executable application (SEA): esbuild bundles everything into one CommonJS
// file (SEA mains must be CommonJS), Node turns it into a blob, and postject injects the blob into
// a copy of this very node binary. Works offline: no Node download, unlike pkg/nexe-style tools.
//   node release/build.mjs [--entry <file.ts>] [--out <path>] [--keep-work] [--no-strip]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const { values: args } = parseArgs({
  options: {
    entry: { type: 'string', default: join(root, 'src/main.ts') },
    out: { type: 'string', default: join(root, 'release/out/nanokube-linux-x64') },
    // Leave the bundle, blob and SEA config in <out dir>/.work-<pid> for inspection.
    'keep-work': { type: 'boolean', default: false },
    'no-strip': { type: 'boolean', default: false },
  },
});
const outFile = resolve(args.out);
// Per-process scratch next to the output, so the final rename stays on one filesystem and two
// builds running at once do not trample each other.
const work = join(dirname(outFile), `.work-${process.pid}`);

/**
 * Files carried inside the executable, by SEA asset key. At run time src/util/sea.ts unpacks one
 * with embeddedAssetPath(key). Add non-JS, non-JSON assets here (JSON is simply imported).
 */
const assets = {
  'better_sqlite3.node': join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node'),
};

// ---- esbuild plugins for dependencies that assume they live in node_modules ----

/** dockerode reaches ssh2 (and its optional native crypto) only for ssh:// hosts, which we never use. */
const stubSsh2 = {
  name: 'stub-ssh2',
  setup(build) {
    build.onResolve({ filter: /^(ssh2|cpu-features)$/ }, (a) => ({ path: a.path, namespace: 'nanokube-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'nanokube-stub' }, (a) => ({
      loader: 'js',
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${a.path} is not included in the nanokube executable (Docker over ssh is unsupported)`)}); };
        module.exports = { Client: function Client() { fail(); } };`,
    }));
  },
};

/**
 * etcd3 reads its .proto files from next to its own source when loaded; inside the executable
 * there is no such directory, so the parsed definitions are inlined as JSON at build time.
 */
const inlineEtcdProtos = {
  name: 'inline-etcd3-protos',
  setup(build) {
    build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (a) => {
      const source = readFileSync(a.path, 'utf8');
      const call = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/;
      if (!call.test(source)) throw new Error(`${a.path}: its proto loading changed; update release/build.mjs`);
      // Parse with the protobufjs that @grpc/proto-loader itself uses, so the JSON matches its fromJSON.
      const loaderRequire = createRequire(require.resolve('@grpc/proto-loader', { paths: [dirname(a.path)] }));
      const protobuf = loaderRequire('protobufjs');
      const protoRoot = new protobuf.Root();
      protoRoot.loadSync(join(dirname(a.path), '../proto/rpc.proto'), { keepCase: true });
      const json = JSON.stringify(protoRoot.toJSON());
      return { loader: 'js', contents: source.replace(call, `(0, proto_loader_1.fromJSON)(${json},`) };
    });
  },
};

/** Runs a build step, showing its output only if it fails. */
function quietly(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error(`${commandArgs.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}

// ---- 1. bundle ----

const started = performance.now();
mkdirSync(work, { recursive: true });
// Also on failure, so a broken build leaves nothing half-made next to the output.
if (!args['keep-work']) process.once('exit', () => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'nanokube.cjs');

await esbuild.build({
  absWorkingDir: root,
  entryPoints: [resolve(args.entry)],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Our ESM code reads import.meta.*, which CommonJS lacks; point them at the running file.
  define: {
    'import.meta.url': '__nanokubeImportMetaUrl',
    'import.meta.filename': '__filename',
    'import.meta.dirname': '__dirname',
  },
  // In a SEA the plain `require` only knows built-in modules; better-sqlite3 loads a given
  // nativeBinding path through __non_webpack_require__ when that exists, so give it a real one.
  banner: {
    js: [
      '"use strict";',
      'var __nanokubeImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
      'var __non_webpack_require__ = require("node:module").createRequire(__filename);',
      // Whatever is not bundled cannot be loaded in a SEA anyway; optional dependencies probe
      // for such modules inside try/catch (ws: bufferutil, debug: supports-color) and the SEA
      // require would print a warning for each. Fail those probes quietly instead.
      'var __nanokubeBuiltinRequire = require;',
      'require = function require(id) {',
      '  if (__nanokubeBuiltinRequire("node:module").isBuiltin(id)) return __nanokubeBuiltinRequire(id);',
      '  var e = new Error("Cannot find module \'" + id + "\' (not bundled into the nanokube executable)");',
      '  e.code = "MODULE_NOT_FOUND";',
      '  throw e;',
      '};',
    ].join('\n'),
  },
  external: ['*.node'],
  plugins: [stubSsh2, inlineEtcdProtos],
}).catch(() => {
  // esbuild has already printed each error with its file and line.
  process.exit(1);
});
const bundled = performance.now();

// ---- 2. SEA blob ----

const blob = join(work, 'sea-prep.blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify(
    {
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8 code cache for the bundle: faster start; it is tied to this node binary, which is the one we copy.
      useCodeCache: true,
      assets,
    },
    null,
    2,
  ),
);
quietly(process.execPath, ['--experimental-sea-config', seaConfig]);

// ---- 3. inject into a copy of node ----

const temp = join(work, 'nanokube');
copyFileSync(process.execPath, temp);
chmodSync(temp, 0o755);
// Node release binaries carry ~12 MB of symbols we do not need; strip them when binutils is here.
if (!args['no-strip']) {
  const stripped = spawnSync('strip', [temp], { encoding: 'utf8', timeout: 120_000 });
  if (stripped.error?.code === 'ENOENT') console.error('note: strip not found; the executable keeps node\'s debug symbols');
  else if (stripped.status !== 0) throw new Error(`strip failed: ${stripped.stderr || stripped.error?.message}`);
}
// Run as a child: postject's ELF library prints harmless warnings we only want to see on failure.
quietly(process.execPath, [require.resolve('postject/dist/cli.js'), temp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
mkdirSync(dirname(outFile), { recursive: true });
renameSync(temp, outFile);

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
console.error(
  `built ${outFile} (${mb(statSync(outFile).size)}) in ${Math.round(performance.now() - started)} ms ` +
    `(bundle ${Math.round(bundled - started)} ms, node ${process.version})`,
);
