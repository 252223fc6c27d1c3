// Dev build: src/main.ts → dist/main.js (+ lazily loaded chunks), ESM with dependencies bundled
// (about a second on an idle machine). bin/nanokube runs the result. (The self-contained executable
// is release/build.mjs.)
//   node scripts/build.mjs [--watch]
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: root,
  entryPoints: [join(root, 'src/main.ts')],
  outdir: join(root, 'dist'),
  bundle: true,
  // Code splitting keeps `import()` lazy: a command loads only what it uses (the CLI's `start`
  // does not pay for fastify, dockerode or the etcd client; the server loads etcd only when asked).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Dependencies are bundled too: resolving and loading hundreds of files from node_modules was
  // the largest part of the server's start-up CPU (measured: 690-1020 ms of CPU to Ready with
  // packages external, 520-670 ms bundled). Native addons and lazily used heavy clients stay
  // external and load from node_modules when needed.
  external: ['better-sqlite3', 'etcd3', 'ssh2', 'cpu-features'],
  // Bundled CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __nkCreateRequire } from 'node:module'; const require = __nkCreateRequire(import.meta.url);" },
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Embedded data under embedded/ is imported as JSON modules; esbuild inlines .json by default.
  logLevel: 'warning',
};

const started = performance.now();
// Chunk names carry content hashes: clear old ones so dist/ holds only this build.
rmSync(join(root, 'dist'), { recursive: true, force: true });
if (watch) {
  const ctx = await esbuild.context({ ...options, logLevel: 'info' });
  await ctx.watch();
  console.error('watching src/ for changes (Ctrl-C to stop)');
} else {
  try {
    await esbuild.build(options);
  } catch {
    // esbuild has already printed the errors with file and line.
    process.exit(1);
  }
  console.error(`built dist/main.js in ${Math.round(performance.now() - started)} ms`);
}
