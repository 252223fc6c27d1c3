// `npm run bench -- <name>`: runs the main() exported by test/bench/<name>.ts.

const name = process.argv[2];
if (!name || !/^[\w-]+$/.test(name)) {
  console.error('usage: npm run bench -- <name>   (a file test/bench/<name>.ts exporting main())');
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { main?: (args: string[]) => Promise<void> | void };
if (typeof mod.main !== 'function') {
  console.error(`test/bench/${name}.ts does not export main()`);
  process.exit(2);
}
await mod.main(process.argv.slice(3));
