/**
 * A worker's V8 young generation. By default it grows to 32 MiB semi-spaces on a machine with
 * much memory, about 50 MiB of RSS that a balancer's short-lived per-request objects do not
 * need: 16 MiB semi-spaces still leave ~1,000 requests between scavenges and take ~25 MiB less
 * (docs/BENCHMARKS.md, "Memory"). An operator's own choice, on the command line or in
 * NODE_OPTIONS, wins.
 */
const SEMI_SPACE_FLAG = '--max-semi-space-size';
const SEMI_SPACE_MIB = 16;

/** The Node flags a worker is forked with: the primary's own, and the young generation size. */
export function workerExecArgv(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const chosen = [...execArgv, env.NODE_OPTIONS ?? ''].some((flag) => flag.includes(SEMI_SPACE_FLAG));
  return chosen ? [...execArgv] : [...execArgv, `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MIB}`];
}
