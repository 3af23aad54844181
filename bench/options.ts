import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface Options {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  /** Length of the no-load window that measures background connections at the upstreams. */
  idleSeconds: number;
  out: string;
  /** The edgelb entry point to benchmark; undefined: this checkout, compiled as its package runs it. */
  edgelbBin: string | undefined;
  /** Run this checkout's TypeScript directly instead of compiling it first. */
  fromSource: boolean;
  quick: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--rounds N] [--seconds N] [--warmup N] [--out FILE] [--edgelb FILE]

  --quick        1 round of 1 s per system with 1 s warmup: checks that the rig works
  --rounds N     interleaved rounds per system            (env BENCH_ROUNDS, default 3)
  --seconds N    wrk duration per round, whole seconds    (env BENCH_SECONDS, default 10)
  --warmup N     unmeasured wrk run per system first      (env BENCH_WARMUP, default min(3, seconds))
  --out FILE     markdown file whose results section is replaced
                                                          (env BENCH_OUT, default docs/BENCHMARKS.md)
  --edgelb FILE  edgelb entry point to run                (env BENCH_EDGELB, default: this checkout,
                 compiled to JavaScript first as its npm package runs it)
  --from-source  run this checkout's TypeScript directly (bin/edgelb.js), uncompiled`;

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  // wrk only takes whole seconds, and a silent rounding would misreport the method.
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, repoRoot: string): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      edgelb: { type: 'string' },
      'from-source': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const rounds = positiveInt('rounds', values.rounds ?? env.BENCH_ROUNDS, quick ? 1 : 3);
  const seconds = positiveInt('seconds', values.seconds ?? env.BENCH_SECONDS, quick ? 1 : 10);
  const warmupSeconds = positiveInt('warmup', values.warmup ?? env.BENCH_WARMUP, Math.min(3, seconds), 0);
  const out = resolve(repoRoot, values.out ?? env.BENCH_OUT ?? 'docs/BENCHMARKS.md');
  const fromSource = values['from-source'];
  const given = values.edgelb ?? env.BENCH_EDGELB ?? (fromSource ? 'bin/edgelb.js' : undefined);
  const edgelbBin = given === undefined ? undefined : resolve(repoRoot, given);
  return { rounds, seconds, warmupSeconds, idleSeconds: Math.min(5, seconds), out, edgelbBin, fromSource, quick };
}
