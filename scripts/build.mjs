// Dev build: src/main.ts → dist/main.js (+ lazily loaded chunks), ESM with node_modules left external so it
// builds in well under a second. bin/nanokube runs the result. (The self-contained executable
// is release/build.mjs.)
//   node scripts/build.mjs [--watch]
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

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
  // Dependencies load from node_modules at run time, exactly as in the tests.
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Embedded data under embedded/ is imported as JSON modules; esbuild inlines .json by default.
  logLevel: 'warning',
};

const started = performance.now();
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
