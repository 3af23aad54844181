import { parseArgs } from 'node:util';

export interface CliOptions {
  /** `run` the load balancer, `probe` (the standalone prober), `status` (the shared health), or take a peer out of rotation and back. */
  readonly command: 'run' | 'probe' | 'status' | 'drain' | 'undrain' | 'register' | 'peers';
  /** peers: `add` or `remove` (then `pool` and `peer`). */
  readonly action?: 'add' | 'remove';
  /** drain/undrain: which peer (`host:port` as configured) of which pool; register: `--pool`. */
  readonly pool?: string;
  readonly peer?: string;
  /** register: the peer announced (`--addr HOST:PORT`), its `--weight` and its registration's `--ttl`. */
  readonly addr?: string;
  readonly weight?: string;
  readonly ttl?: string;
  readonly conf: string | undefined;
  readonly daemon: boolean;
  readonly upgrade: boolean;
  readonly test: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** `status --json`: the report as JSON for scripts. */
  readonly json: boolean;
  /** `status --watch`: redraw the table every second until interrupted. */
  readonly watch: boolean;
  /** `probe --id NAME`: this prober's name in Redis (default: host-pid). */
  readonly id: string | undefined;
}

const COMMANDS: readonly string[] = ['probe', 'status', 'drain', 'undrain', 'register', 'peers'] satisfies CliOptions['command'][];

export const HELP = `edgelb: an HTTP load balancer

Usage:
  edgelb [-c FILE] [-d] [-u] [-t]     run the load balancer
  edgelb -t -c FILE                   check the config file and exit
  edgelb probe -c FILE [--id NAME]    run only the prober, writing health to redis
  edgelb status -c FILE [--json|--watch]
                                      pools, peers and health: from redis, or without it
                                      from the running balancer's admin listener
  edgelb register -c FILE --pool POOL --addr HOST:PORT [--weight N] [--ttl 10s]
                                      a backend's sidecar: keep its peer registered in
                                      redis (a pool with discovery: redis); SIGTERM
                                      deregisters it (edges drain it, then drop it)
  edgelb peers add|remove POOL HOST:PORT [--weight N] [-c FILE]
                                      change a pool's peers in the running balancer
                                      (embedded mode); remove lets in-flight requests finish
  edgelb drain POOL PEER [-c FILE]    take a peer out of rotation (in-flight requests finish)
  edgelb undrain POOL PEER [-c FILE]  put it back
                                      (through the admin listener of FILE; without -c,
                                      127.0.0.1:9900 without a token)

Options:
  -c, --conf FILE   the YAML config file (see examples/demo.yaml)
  -t, --test        validate the config and exit: 0 when valid, 1 with one line per problem
  -d, --daemon      run in the background, write pid_file, log to error_log;
                    returns once serving
  -u, --upgrade     take over the listening sockets of the running instance
                    through upgrade_sock (then send the running one SIGQUIT)
  -h, --help        show this help
  -V, --version     print the version
  --json            status: print the report as JSON
  --watch           status: redraw the table every second (Ctrl-C ends it)
  --id NAME         probe: this prober's name in redis (default: host-pid)
  --pool, --addr    register: the pool and the peer's HOST:PORT
  --weight N        register, peers add: the peer's weight (default 1)
  --ttl DURATION    register: how long the registration outlives its last renewal
                    (default 10s; renewed every third of it)

Environment:
  LOG_LEVEL         trace, debug, info (default), warn, error; RUST_LOG is read as an alias

Signals:
  SIGTERM, SIGINT   graceful shutdown: stop accepting, finish in-flight requests
                    (up to grace_period_seconds), exit 0
  SIGQUIT           graceful upgrade: hand the listening sockets to the process
                    started with -u, then drain and exit
  SIGHUP            reload the config file
`;

/** Parses the command line; throws with a usage message for unknown flags. */
export function parseCli(argv: readonly string[]): CliOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      conf: { type: 'string', short: 'c' },
      daemon: { type: 'boolean', short: 'd', default: false },
      upgrade: { type: 'boolean', short: 'u', default: false },
      test: { type: 'boolean', short: 't', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'V', default: false },
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      id: { type: 'string' },
      pool: { type: 'string' },
      addr: { type: 'string' },
      weight: { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  const [command, ...operands] = positionals;
  if (command !== undefined && !COMMANDS.includes(command)) throw new Error(`unknown command "${command}"`);
  const peerCommand = command === 'drain' || command === 'undrain' ? command : undefined;
  if (peerCommand !== undefined && operands.length !== 2) {
    throw new Error(`${peerCommand} needs a pool and a peer: edgelb ${peerCommand} POOL HOST:PORT`);
  }
  const action = command === 'peers' ? operands.shift() : undefined;
  if (command === 'peers' && ((action !== 'add' && action !== 'remove') || operands.length !== 2)) {
    throw new Error('peers needs add or remove, a pool and a peer: edgelb peers add|remove POOL HOST:PORT');
  }
  if (peerCommand === undefined && command !== 'peers' && operands.length > 0) throw new Error(`unexpected argument "${operands[0]}"`);
  if (values.json && command !== 'status') throw new Error('--json goes with "status"');
  if (values.watch && command !== 'status') throw new Error('--watch goes with "status"');
  if (values.watch && values.json) throw new Error('--watch draws the table; --json prints once');
  if (values.id !== undefined && command !== 'probe') throw new Error('--id goes with "probe"');
  for (const flag of ['pool', 'addr', 'ttl'] as const) {
    if (values[flag] !== undefined && command !== 'register') throw new Error(`--${flag} goes with "register"`);
  }
  if (values.weight !== undefined && command !== 'register' && action !== 'add') throw new Error('--weight goes with "register" and "peers add"');
  if (command === 'register' && (values.pool === undefined || values.addr === undefined)) {
    throw new Error('register needs --pool POOL and --addr HOST:PORT');
  }
  return {
    command: (command ?? 'run') as CliOptions['command'],
    ...(action !== undefined ? { action: action as 'add' | 'remove' } : {}),
    pool: values.pool ?? operands[0],
    addr: values.addr,
    weight: values.weight,
    ttl: values.ttl,
    peer: operands[1],
    conf: values.conf,
    daemon: values.daemon,
    upgrade: values.upgrade,
    test: values.test,
    help: values.help,
    version: values.version,
    json: values.json,
    watch: values.watch,
    id: values.id,
  };
}
