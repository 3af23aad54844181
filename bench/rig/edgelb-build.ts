import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * edgelb as its npm package runs it: the TypeScript compiled to JavaScript (`npm run build`) in a
 * directory of its own, with this checkout's node_modules. From a source checkout `bin/edgelb.js`
 * would run the TypeScript directly, and Node's type stripping costs each process ~28 MiB of RSS
 * that no installed edgelb carries. Returns the entry point to run.
 */
export async function buildEdgelb(repoRoot: string, dir: string): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  await promisify(execFile)(tsc, ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--declaration', 'false', '--sourceMap', 'false'], { cwd: repoRoot });
  await copyFile(join(repoRoot, 'bin', 'edgelb.js'), join(dir, 'bin', 'edgelb.js'));
  await copyFile(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bin', 'edgelb.js');
}
