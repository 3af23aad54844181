import { startProcess, stopProcess } from './processes.ts';

export const WRK = '/usr/bin/wrk';
export const WRK_THREADS = 1;
export const WRK_CONNECTIONS = 64;

export interface WrkResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  non2xx: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const scale = TIME_UNITS_MS[unit];
  if (scale === undefined) throw new Error(`unknown wrk time unit ${unit}`);
  return Number(value) * scale;
}

function need(match: RegExpExecArray | null, what: string, output: string): RegExpExecArray {
  if (!match) throw new Error(`could not find ${what} in wrk output:\n${output}`);
  return match;
}

export function parseWrkOutput(output: string): WrkResult {
  const total = need(/(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(output), 'request count', output);
  const rate = need(/Requests\/sec:\s+([\d.]+)/.exec(output), 'Requests/sec', output);
  const percentile = (label: string) => need(new RegExp(`^\\s*${label}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(output), `${label}th percentile`, output);
  const p50 = percentile('50');
  const p99 = percentile('99');
  const max = need(/^[ \t]*Latency[ \t]+\S+[ \t]+\S+[ \t]+([\d.]+)(us|ms|s|m|h)/m.exec(output), 'latency max', output);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    durationSeconds: toMs(total[2]!, total[3]!) / 1000,
    requestsPerSecond: Number(rate[1]),
    p50Ms: toMs(p50[1]!, p50[2]!),
    p99Ms: toMs(p99[1]!, p99[2]!),
    maxMs: toMs(max[1]!, max[2]!),
    socketErrors: {
      connect: Number(sockets?.[1] ?? 0),
      read: Number(sockets?.[2] ?? 0),
      write: Number(sockets?.[3] ?? 0),
      timeout: Number(sockets?.[4] ?? 0),
    },
    non2xx: Number(non2xx?.[1] ?? 0),
  };
}

export function wrkArgs(url: string, seconds: number, script?: string): string[] {
  const scriptArgs = script === undefined ? [] : ['-s', script];
  return [`-t${WRK_THREADS}`, `-c${WRK_CONNECTIONS}`, `-d${seconds}s`, '--latency', ...scriptArgs, url];
}

/**
 * Runs wrk pinned to the given CPUs; it is killed if it overstays its duration. `script` is a
 * wrk Lua script (the POST body of an upload workload).
 */
export async function runWrk(url: string, seconds: number, cpus: string, script?: string): Promise<WrkResult> {
  const proc = startProcess('wrk', WRK, wrkArgs(url, seconds, script), { cpus });
  // wrk waits up to its 2 s socket timeout for stragglers after the run; allow for that.
  const guard = setTimeout(() => void stopProcess(proc, 1000), (seconds + 15) * 1000);
  const status = await proc.exited;
  clearTimeout(guard);
  if (status !== 0) throw new Error(`wrk exited with ${status}:\n${proc.output()}`);
  return parseWrkOutput(proc.output());
}
