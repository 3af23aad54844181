import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { describeError } from '../../core/errors.ts';
import type { Log } from '../../core/log.ts';

/** How long the files must stay quiet before `onChange` runs: writers touch a file several times. */
const DEBOUNCE_MS = 200;

/**
 * Calls `onChange` once the given files have changed and stayed unchanged for a moment. It
 * watches their directories rather than the files, so a file replaced by a rename (how editors
 * and certificate managers write: a new inode, which a watch on the old one never sees) or
 * behind a swapped symlink (Kubernetes secrets change `..data`) is noticed too. Any change in
 * such a directory counts; `onChange` must cope with files that did not change.
 */
export class FileWatch {
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(files: readonly string[], onChange: () => void, log: Log) {
    const directories = new Set(files.map((file) => dirname(file)));
    const changed = () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(onChange, DEBOUNCE_MS);
      this.#timer.unref();
    };
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, changed);
        watcher.on('error', (error) => log.warn({ directory, error: describeError(error) }, 'cannot watch certificate files any more; SIGHUP still reloads them'));
        this.#watchers.push(watcher);
      } catch (error) {
        log.warn({ directory, error: describeError(error) }, 'cannot watch certificate files; SIGHUP still reloads them');
      }
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
  }
}
