import { parseArgs } from 'node:util';

export interface CliOptions {
  readonly command: 'run';
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

Options:
  -c, --conf FILE   the YAML config file (see examples/demo.yaml)
  -t, --test        validate the config and exit: 0 when valid, 1 with one line per problem
  -d, --daemon      run in the background, write pid_file, log to error_log;
                    returns once serving
  -u, --upgrade     take over the listening sockets of the running instance
                    through upgrade_sock (then send the running one SIGQUIT)
  -h, --help        show this help
  -V, --version     print the version

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
    },
  });
  if (positionals.length > 0) throw new Error(`unknown command "${positionals[0]}"`);
  return {
    command: 'run',
    conf: values.conf,
    daemon: values.daemon,
    upgrade: values.upgrade,
    test: values.test,
    help: values.help,
    version: values.version,
  };
}
