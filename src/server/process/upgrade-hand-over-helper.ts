import { handleForFd } from './listen-sockets.ts';
import { isMessage, type HeldState } from './messages.ts';

/**
 * Started by `handOverListeners` with its IPC channel on the `upgrade_sock` connection (fd 3)
 * and the listening sockets from fd 4 on: sends what the old primary held for its operators
 * (EDGELB_HANDOVER_HELD), then each socket, to the new process, and exits 0 once that process
 * says it serves on them, 1 if it goes away first.
 */
const count = Number(process.env.EDGELB_HANDOVER_COUNT);
const held = JSON.parse(process.env.EDGELB_HANDOVER_HELD ?? '{"drains":[],"peers":[],"ejected":[]}') as HeldState;
process.on('message', (message: unknown) => {
  if (isMessage<{ type: 'edgelb:taken-over' }>(message, 'edgelb:taken-over')) process.exit(0);
});
process.on('disconnect', () => process.exit(1));
process.send!({ type: 'edgelb:held', ...held });
for (let index = 0; index < count; index++) {
  process.send!({ type: 'edgelb:listener', index, count }, handleForFd(4 + index) as never);
}
