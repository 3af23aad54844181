import { fileURLToPath } from 'node:url';

/** The path of a process entry next to this file: `.ts` from a checkout, `.js` from the build. */
export function entryFile(name: string): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${extension}`, import.meta.url));
}
