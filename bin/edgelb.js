#!/usr/bin/env node
// From a source checkout edgelb runs its TypeScript directly (Node strips the types); an
// installed package runs the JavaScript that `npm run build` compiled into dist/.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 26) {
  process.stderr.write(
    `edgelb needs Node.js 26 or later (this is ${process.version}).\n` +
      `From a source checkout, the npm scripts bring it: npm run edgelb -- -c FILE\n`,
  );
  process.exit(1);
}

const source = new URL('../src/server/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/server/main.js', import.meta.url).href);
