import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { NGINX } from './nginx.ts';
import { HAPROXY } from './haproxy.ts';
import { WRK } from './wrk.ts';

export interface Machine {
  nproc: string;
  cpuModel: string;
  kernel: string;
  /** Package version and commit of the edgelb under test. */
  edgelb: string;
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  loadAverage: string;
}

/** First line a tool prints about its version; these tools disagree on stdout vs stderr. */
function versionLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim();
  return text.split('\n')[0]?.trim() || `unavailable (${result.error?.message ?? 'no output'})`;
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) return match[1].trim();
  } catch {
    // Fall through to what Node knows.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function loadAverage(): string {
  return os.loadavg().map((load) => load.toFixed(2)).join(' ');
}

function edgelbVersion(repoRoot: string): string {
  let version = 'unknown version';
  try {
    version = String((JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version?: unknown }).version);
  } catch {
    // Reported as unknown.
  }
  const git = (args: string[]): string | undefined => {
    const result = spawnSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', timeout: 5000 });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const commit = git(['rev-parse', '--short', 'HEAD']);
  if (commit === undefined) return `${version}, no git commit`;
  const dirty = git(['status', '--porcelain', '--', 'src', 'bin', 'package.json']);
  return `${version}, commit ${commit}${dirty ? ' with uncommitted changes in src/, bin/ or package.json' : ''}`;
}

export function describeMachine(repoRoot: string): Machine {
  return {
    nproc: versionLine('nproc', []),
    cpuModel: cpuModel(),
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    edgelb: edgelbVersion(repoRoot),
    // The proxies run on the same Node binary as this script (npm puts it first in PATH).
    node: process.version,
    nginx: versionLine(NGINX, ['-v']),
    haproxy: versionLine(HAPROXY, ['-v']),
    wrk: versionLine(WRK, ['-v']),
    loadAverage: loadAverage(),
  };
}
