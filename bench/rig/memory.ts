import { readFileSync } from 'node:fs';

export interface Memory {
  rssKiB: number;
  /** VmHWM: the peak resident set size over the process's life. */
  peakKiB: number;
}

export function readMemory(pid: number): Memory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : undefined;
  };
  const rssKiB = field('VmRSS');
  const peakKiB = field('VmHWM');
  return rssKiB === undefined || peakKiB === undefined ? undefined : { rssKiB, peakKiB };
}

/** Direct children of pid, e.g. the worker behind an nginx master. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Summed VmRSS of the given processes (the workers of a multi-process server and their primary). */
export function totalRssKiB(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const memory = readMemory(pid);
    if (memory === undefined) return undefined;
    total += memory.rssKiB;
  }
  return pids.length === 0 ? undefined : total;
}
