import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** What each folder may import, so imports flow one way: server → edge/prober → store → core. */
const ALLOWED: Record<string, { folders: string[]; node: boolean }> = {
  core: { folders: ['core'], node: false },
  store: { folders: ['core', 'store'], node: true },
  prober: { folders: ['core', 'store', 'prober'], node: true },
  edge: { folders: ['core', 'store', 'edge'], node: true },
  // '..' is package.json, read for the version.
  server: { folders: ['core', 'store', 'prober', 'edge', 'server', '..'], node: true },
};

/** Static imports and re-exports (with or without bindings) and dynamic `import('…')`. */
const IMPORT = /^\s*(?:import|export)\b\s*(?:[^'"]*?\bfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

describe('source layout', () => {
  it('keeps src/core runtime-neutral and imports flowing one way', () => {
    const problems: string[] = [];
    for (const file of sourceFiles(src)) {
      const folder = relative(src, file).split('/')[0]!;
      const rules = ALLOWED[folder];
      assert.ok(rules, `unexpected folder src/${folder}`);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2];
        if (specifier!.startsWith('node:') && !rules.node) problems.push(`${relative(src, file)} imports ${specifier}`);
        if (specifier!.startsWith('.')) {
          const target = relative(src, join(file, '..', specifier!)).split('/')[0]!;
          if (!rules.folders.includes(target)) problems.push(`${relative(src, file)} imports from src/${target}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
