import { killAllProcessesNow, stopAllProcesses } from './processes.ts';

export interface BoundedRunOptions {
  /** The run gives up after this long: a run that goes wrong at every step still ends. */
  readonly budgetMs: number;
  readonly log: (line: string) => void;
  /** Runs once at the end, after every process the rig started has stopped (a scratch directory, say). */
  readonly cleanup?: () => Promise<void> | void;
}

/**
 * Runs a bench script's `main` to an end whatever happens: when it resolves (exit 0) or fails
 * (1), on Ctrl-C (130) or SIGTERM (143), or when the time budget is over (1). Each way, every
 * process the rig started is stopped and `cleanup` runs, once.
 */
export function boundedRun(main: () => Promise<void>, options: BoundedRunOptions): void {
  let finishing: Promise<void> | undefined;
  const finish = async (code: number, reason?: string): Promise<never> => {
    if (finishing === undefined) {
      if (reason) options.log(reason);
      finishing = (async () => {
        await stopAllProcesses();
        await options.cleanup?.();
      })();
    }
    await finishing;
    process.exit(code);
  };
  process.once('SIGINT', () => void finish(130, 'interrupted'));
  process.once('SIGTERM', () => void finish(143, 'terminated'));
  process.on('exit', killAllProcessesNow);
  const watchdog = setTimeout(() => void finish(1, `time budget of ${Math.round(options.budgetMs / 1000)} s exceeded, giving up`), options.budgetMs);
  main().then(
    () => {
      clearTimeout(watchdog);
      return finish(0);
    },
    (error: unknown) => finish(1, `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  );
}
