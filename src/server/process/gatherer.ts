import type { ChildProcess } from 'node:child_process';
import type { ToWorker } from './messages.ts';
import type { WorkerReport } from './worker-report.ts';

/** A worker that does not answer within this is left out of that view rather than holding it up. */
const REPORT_TIMEOUT_MS = 1_000;

interface Pending {
  readonly reports: Map<ChildProcess, WorkerReport>;
  readonly waiting: Set<ChildProcess>;
  finish(): void;
}

/**
 * The primary's side of an admin view of every worker: asks each live worker (of every
 * generation still running, so a draining one counts until it is gone) for its report, and
 * adds what stopped workers left (their counters, see `lasting`), so totals never fall across a
 * reload or a replaced worker.
 */
export class Gatherer {
  readonly #workers = new Set<ChildProcess>();
  readonly #pending = new Map<number, Pending>();
  /** What stopped workers left, merged; undefined until one has. */
  #retired: Promise<WorkerReport | undefined> = Promise.resolve(undefined);
  #nextId = 0;

  add(worker: ChildProcess): void {
    this.#workers.add(worker);
    worker.once('exit', () => this.#forget(worker));
  }

  /**
   * Whether `asker` alone counts: the only live worker, with nothing left by stopped ones. Its
   * own view then is the edge's, and no report need cross.
   */
  async alone(asker: ChildProcess): Promise<boolean> {
    return this.#workers.size === 1 && this.#workers.has(asker) && (await this.#retired) === undefined;
  }

  /** Every live worker's report, and the stopped ones' lasting part. */
  gather(): Promise<WorkerReport[]> {
    const id = ++this.#nextId;
    const waiting = new Set([...this.#workers].filter((worker) => worker.connected));
    return new Promise((resolve) => {
      const timer = setTimeout(() => pending.finish(), REPORT_TIMEOUT_MS);
      const pending: Pending = {
        reports: new Map(),
        waiting,
        finish: () => {
          clearTimeout(timer);
          this.#pending.delete(id);
          // Read when done, not when asked: a worker that stopped meanwhile is counted there, once.
          void this.#retired.then((retired) => resolve([...pending.reports.values(), ...(retired === undefined ? [] : [retired])]));
        },
      };
      this.#pending.set(id, pending);
      if (waiting.size === 0) return pending.finish();
      for (const worker of waiting) worker.send({ type: 'edgelb:report', id } satisfies ToWorker);
    });
  }

  /** A worker's answer to `gather`. */
  reported(worker: ChildProcess, id: number, report: WorkerReport): void {
    const pending = this.#pending.get(id);
    if (pending === undefined || !pending.waiting.delete(worker)) return;
    pending.reports.set(worker, report);
    if (pending.waiting.size === 0) pending.finish();
  }

  /** A worker's last report as it stops: from now on it counts among the retired, not the live. */
  retire(worker: ChildProcess, report: WorkerReport): void {
    this.#forget(worker);
    const previous = this.#retired;
    this.#retired = (async () => {
      const { lasting, mergeReports } = await import('./worker-report.ts');
      const before = await previous;
      return mergeReports(before === undefined ? [lasting(report)] : [before, lasting(report)]);
    })();
  }

  #forget(worker: ChildProcess): void {
    if (!this.#workers.delete(worker)) return;
    for (const pending of this.#pending.values()) {
      pending.reports.delete(worker);
      if (pending.waiting.delete(worker) && pending.waiting.size === 0) pending.finish();
    }
  }
}
