import { parseArgs } from 'node:util';

export interface CliOptions {
  readonly command: 'run' | 'drain' | 'undrain';
  /** drain/undrain: which peer (`host:port` as configured) of which pool. */
  readonly pool?: string;
  readonly peer?: string;
  readonly conf: string | undefined;
  readonly daemon: boolean;
  readonly upgrade: boolean;
  readonly test: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

export const HELP = `edgelb: an HTTP load balancer

Usage:
  edgelb [-c FILE] [-d] [-u] [-t]     run the load balancer
  edgelb -t -c FILE                   check the config file and exit
  edgelb drain POOL PEER [-c FILE]    take a peer out of rotation (in-flight requests finish)
  edgelb undrain POOL PEER [-c FILE]  put it back
                                      (through the admin listener of FILE; without -c,
                                      127.0.0.1:9900 without a token)

Options:
  -c, --conf FILE   the YAML config file (see examples/demo.yaml)
  -t, --test        validate the config and exit: 0 when valid, 1 with one line per problem
  -d, --daemon      run in the background, write pid_file, log to error_log   (not yet available)
  -u, --upgrade     take over the listening sockets of the running instance
                    through upgrade_sock                                       (not yet available)
  -h, --help        show this help
  -V, --version     print the version

Environment:
  LOG_LEVEL         trace, debug, info (default), warn, error; RUST_LOG is read as an alias

Signals:
  SIGTERM, SIGINT   graceful shutdown: stop accepting, finish in-flight requests
                    (up to grace_period_seconds), exit 0
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
    },
  });
  const [command, ...operands] = positionals;
  const peerCommand = command === 'drain' || command === 'undrain' ? command : undefined;
  if (command !== undefined && peerCommand === undefined) throw new Error(`unknown command "${command}"`);
  if (peerCommand !== undefined && operands.length !== 2) {
    throw new Error(`${peerCommand} needs a pool and a peer: edgelb ${peerCommand} POOL HOST:PORT`);
  }
  return {
    command: peerCommand ?? 'run',
    pool: operands[0],
    peer: operands[1],
    conf: values.conf,
    daemon: values.daemon,
    upgrade: values.upgrade,
    test: values.test,
    help: values.help,
    version: values.version,
  };
}
