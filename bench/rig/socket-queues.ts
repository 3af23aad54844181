import { spawnSync } from 'node:child_process';

/** One established TCP socket on 127.0.0.1, as `ss -tin` reports it (the kernel's `tcp_info`). */
export interface TcpSocket {
  /** `ESTAB`, `FIN-WAIT-1`, `CLOSE-WAIT`, ...: a socket its process has closed still holds its queues. */
  state: string;
  localPort: number;
  peerPort: number;
  /** Bytes received by the kernel and not yet read by the process. */
  recvQ: number;
  /** Bytes written by the process and not yet acknowledged by the peer's kernel. */
  sendQ: number;
  /** Bytes of this socket's lifetime the peer's kernel acknowledged (what it received). */
  bytesAcked: number;
  /** Bytes of this socket's lifetime the kernel received. */
  bytesReceived: number;
}

/**
 * The TCP sockets with one of `ports` as their local or peer port, from `ss`: every state that
 * can still hold data (established, and closing ones such as FIN-WAIT-1, whose process may be
 * gone while the kernel still delivers its send queue), not TIME-WAIT. Both ends of a loopback
 * connection show up, so a socket's side is told by which of its ports is the listening one.
 * Throws if ss fails.
 */
export function tcpSockets(ports: readonly number[]): TcpSocket[] {
  const filter = ports.flatMap((port) => ['sport', '=', `:${port}`, 'or', 'dport', '=', `:${port}`, 'or']).slice(0, -1);
  const result = spawnSync('ss', ['-tinH', 'state', 'connected', 'exclude', 'time-wait', '(', ...filter, ')'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`ss failed: ${result.error?.message ?? result.stderr}`);
  const sockets: TcpSocket[] = [];
  let current: TcpSocket | undefined;
  for (const line of result.stdout.split('\n')) {
    // State Recv-Q Send-Q Local:Port Peer:Port, then an indented line of tcp_info.
    const head = /^([A-Z][A-Z0-9-]*)\s+(\d+)\s+(\d+)\s+\S+:(\d+)\s+\S+:(\d+)/.exec(line);
    if (head) {
      current = {
        state: head[1]!, recvQ: Number(head[2]), sendQ: Number(head[3]), localPort: Number(head[4]), peerPort: Number(head[5]), bytesAcked: 0, bytesReceived: 0,
      };
      sockets.push(current);
      continue;
    }
    if (current === undefined) continue;
    // ss leaves a counter out while it is 0.
    const field = (name: string): number => Number(new RegExp(`\\b${name}:(\\d+)`).exec(line)?.[1] ?? 0);
    current.bytesAcked = field('bytes_acked');
    current.bytesReceived = field('bytes_received');
  }
  return sockets;
}
