import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** How one hostile connection ended: what it read and how long it was held open. */
export interface Held {
  readonly reply: string;
  readonly heldMs: number;
}

/**
 * A raw connection to `127.0.0.1:port` (TLS when `tls`, offering `alpn`), which sends `first`
 * once connected and then `drip` every `dripMs` until the server closes it. Resolves with what
 * the server sent and how long the connection lived.
 */
export function holdOpen(port: number, options: { first?: string; drip?: string; dripMs?: number; tls?: boolean; alpn?: string[] } = {}): Promise<Held> {
  const { first = '', drip, dripMs = 200 } = options;
  return new Promise((resolve) => {
    const started = performance.now();
    let reply = '';
    let timer: NodeJS.Timeout | undefined;
    const onOpen = () => {
      if (first) socket.write(first);
      if (drip !== undefined) timer = setInterval(() => socket.writable && socket.write(drip), dripMs);
    };
    const socket: Socket = options.tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: options.alpn ?? ['http/1.1'] }, onOpen)
      : connect(port, '127.0.0.1', onOpen);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ reply, heldMs: performance.now() - started });
    });
  });
}
