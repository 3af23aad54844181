import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/** What a pid file says about the instance that wrote it. */
export type PidFileState = { kind: 'absent' } | { kind: 'stale'; pid: number } | { kind: 'running'; pid: number };

/** Reads `path`: absent, left behind by a dead process (stale), or naming a live one. */
export function readPidFile(path: string): PidFileState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { kind: 'stale', pid: 0 };
  return { kind: isAlive(pid) ? 'running' : 'stale', pid };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes our pid atomically (a reader never sees a half-written file). */
export function writePidFile(path: string, pid = process.pid): void {
  const temporary = `${path}.${pid}.tmp`;
  writeFileSync(temporary, `${pid}\n`);
  renameSync(temporary, path);
}

/** Removes the pid file if it still names `pid`: after an upgrade it names the new process. */
export function removePidFileIfOurs(path: string, pid = process.pid): void {
  try {
    if (Number(readFileSync(path, 'utf8').trim()) === pid) unlinkSync(path);
  } catch {
    // Already gone: nothing to remove.
  }
}
