import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A load generator in a process of its own, pinned to `cpus`, driven over its stdin by one JSON
 * command per line and answering one JSON line each: so the client side of a benchmark gets a
 * core to itself and its own CPU time is not counted against the proxy.
 */
export class LoaderProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly #waiting: ((line: string) => void)[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(cpus: string, args: readonly string[]) {
    this.child = spawn('taskset', ['-c', cpus, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (this.child.pid === undefined) throw new Error('could not start the load generator');
    this.pid = this.child.pid;
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.#waiting.shift()?.(line));
    this.child.once('exit', (code, signal) => {
      for (const waiter of this.#waiting.splice(0)) waiter(JSON.stringify({ loaderExited: code ?? signal }));
    });
  }

  /** Commands run one at a time; each resolves with the generator's answer. */
  run<T>(command: object): Promise<T> {
    const next = this.#queue.then(() => new Promise<T>((resolveRun, rejectRun) => {
      this.#waiting.push((line) => {
        const reply = JSON.parse(line) as T & { loaderExited?: unknown };
        if (reply.loaderExited !== undefined) rejectRun(new Error(`the load generator exited (${String(reply.loaderExited)})`));
        else resolveRun(reply);
      });
      this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    }));
    this.#queue = next.catch(() => {});
    return next;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
