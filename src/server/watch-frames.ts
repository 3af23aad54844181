const WATCH_INTERVAL_MS = 1_000;
/** Cursor home, then clear the screen: each frame replaces the last on a terminal. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * `edgelb status --watch`: a frame again every second, until SIGINT/SIGTERM. A failed read is
 * shown in place of the table and the next second tries again, so the watch outlives an outage.
 * On a terminal each frame replaces the last; into a pipe frames follow each other.
 */
export async function watchFrames(frame: () => Promise<string>): Promise<number> {
  const tty = process.stdout.isTTY === true;
  let stopped = false;
  let wake: () => void = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    const heading = `edgelb status, every ${WATCH_INTERVAL_MS / 1000}s (Ctrl-C to stop)  ${new Date().toISOString()}\n\n`;
    const body = await frame();
    process.stdout.write(`${tty ? CLEAR_SCREEN : ''}${heading}${body}${tty ? '' : '\n'}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, WATCH_INTERVAL_MS);
    });
  }
  return 0;
}
