import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** Node-only packages: the runtime-neutral code and the Workers adapter must do without them. */
const NODE_PACKAGES = ['undici', '@hono/node-server'];

/**
 * What each folder may import (DESIGN.md, "Folders"), so imports flow one way: server →
 * edge/prober → store → core. `src/edge/` is split: its root is the runtime-neutral data plane,
 * `node/` and `workers/` are the runtime adapters over it, and neither adapter sees the other.
 */
const ALLOWED: Record<string, { folders: string[]; node: boolean; packages?: string[] }> = {
  core: { folders: ['core'], node: false },
  store: { folders: ['core', 'store'], node: true },
  prober: { folders: ['core', 'store', 'prober'], node: true },
  edge: { folders: ['core', 'store', 'edge'], node: false, packages: NODE_PACKAGES },
  'edge/node': { folders: ['core', 'store', 'edge', 'edge/node'], node: true },
  'edge/workers': { folders: ['core', 'store', 'edge', 'edge/workers'], node: false, packages: NODE_PACKAGES },
  // '..' is package.json, read for the version.
  server: { folders: ['core', 'store', 'prober', 'edge', 'edge/node', 'server', '..'], node: true },
};

/** The folder of ALLOWED a path under src/ belongs to: the adapters count apart from the edge root. */
function folderOf(path: string): string {
  const [top, sub] = path.split('/');
  return top === 'edge' && (sub === 'node' || sub === 'workers') ? `edge/${sub}` : top!;
}

/** Static imports and re-exports (with or without bindings) and dynamic `import('…')`. */
const IMPORT = /^\s*(?:import|export)\b\s*(?:[^'"]*?\bfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

describe('source layout', () => {
  it('keeps src/core and the src/edge root runtime-neutral, the adapters apart and imports flowing one way', () => {
    const problems: string[] = [];
    for (const file of sourceFiles(src)) {
      const path = relative(src, file);
      const rules = ALLOWED[folderOf(path)];
      assert.ok(rules, `unexpected folder src/${folderOf(path)}`);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = (match[1] ?? match[2])!;
        if (specifier.startsWith('node:') && !rules.node) problems.push(`${path} imports ${specifier}`);
        if (rules.packages?.some((name) => specifier === name || specifier.startsWith(`${name}/`))) problems.push(`${path} imports ${specifier}`);
        if (specifier.startsWith('.')) {
          const target = folderOf(relative(src, join(file, '..', specifier)));
          if (!rules.folders.includes(target)) problems.push(`${path} imports from src/${target}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
