#!/usr/bin/env node
// From a source checkout edgelb runs its TypeScript directly (Node strips the types); an
// installed package runs the JavaScript that `npm run build` compiled into dist/.
import { existsSync } from 'node:fs';

// The compiled package runs on every maintained LTS line; a source checkout needs Node 26, whose
// type stripping runs the TypeScript as it is (its npm scripts bring that Node).
const source = new URL('../src/server/main.ts', import.meta.url);
const fromSource = existsSync(source);
const [major] = process.versions.node.split('.').map(Number);
const needed = fromSource ? 26 : 22;
if (major < needed) {
  process.stderr.write(fromSource
    ? `edgelb from a source checkout needs Node.js 26 or later (this is ${process.version}); its npm scripts bring it: npm run edgelb -- -c FILE\n`
    : `edgelb needs Node.js 22 or later (this is ${process.version}); install a maintained LTS release (22, 24 or 26) from https://nodejs.org or your package manager\n`);
  process.exit(1);
}

await import(fromSource ? source.href : new URL('../dist/server/main.js', import.meta.url).href);
