import { connect as tlsConnect } from 'node:tls';
import { ERROR_NAMES, Flag, FrameReader, FrameType, PREFACE, frame, headerBlock, requestBlock, responseStatus, type Frame } from '../../test/support/h2-codec.ts';

/** What became of the streams one HTTP/2 connection opened. */
export interface H2Outcome {
  /** The protocol ALPN agreed on; the rest is empty unless it is h2. */
  readonly alpn: string | undefined;
  readonly sent: number;
  /** Streams that got response headers, by status ("?" when HPACK's dynamic table carried it). */
  readonly statuses: Record<string, number>;
  /** Streams whose body was the backend's own answer (`slow#…` or `ok`). */
  readonly backendBodies: number;
  /** RST_STREAM frames by error code name. */
  readonly resets: Record<string, number>;
  readonly goaway: { readonly lastStreamId: number; readonly code: string } | undefined;
  /** Streams neither answered nor reset when the probe stopped (the GOAWAY's ignored ones among them). */
  readonly unresolved: number;
  readonly closedByServer: boolean;
  readonly ms: number;
}

export interface H2Request {
  readonly port: number;
  /** How many streams to open, all at once (ids 1, 3, 5, ...). */
  readonly streams: number;
  readonly path: (index: number) => string;
  /** Fields after the pseudo-headers, written byte for byte (see `requestBlock`). */
  readonly extra?: readonly [string, string][];
  /** Wait until both sides' SETTINGS are acknowledged before opening streams. */
  readonly afterSettings?: boolean;
  readonly capMs: number;
}

interface StreamState {
  status?: string;
  backendBody: boolean;
  reset?: string;
  ended: boolean;
}

/**
 * Opens one TLS connection offering only h2, writes the preface and SETTINGS, then HEADERS for
 * every stream in one write (by default without waiting for the server's SETTINGS, as a hostile
 * client does), acknowledges the server's SETTINGS and PINGs, and reads until every stream is
 * answered or reset, the server closes, or `capMs` passes.
 */
export function h2Streams(request: H2Request): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const streams = new Map<number, StreamState>();
    const resets: Record<string, number> = {};
    let goaway: H2Outcome['goaway'];
    let done = false;
    let opened = false;
    let ackedOurs = false;
    let ackedTheirs = false;
    const reader = new FrameReader();
    const socket = tlsConnect({ host: '127.0.0.1', port: request.port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2'] });

    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      socket.destroy();
      const statuses: Record<string, number> = {};
      let backendBodies = 0;
      let unresolved = 0;
      for (const state of streams.values()) {
        if (state.status !== undefined) statuses[state.status] = (statuses[state.status] ?? 0) + 1;
        if (state.backendBody) backendBodies++;
        if (!state.ended && state.reset === undefined) unresolved++;
      }
      resolve({ alpn: socket.alpnProtocol || undefined, sent: streams.size, statuses, backendBodies, resets, goaway, unresolved, closedByServer, ms: performance.now() - started });
    };
    const cap = setTimeout(() => finish(false), request.capMs);

    const openStreams = (): void => {
      if (opened) return;
      opened = true;
      const frames: Buffer[] = [];
      for (let i = 0; i < request.streams; i++) {
        const id = 1 + 2 * i;
        streams.set(id, { backendBody: false, ended: false });
        frames.push(frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, id, requestBlock(request.path(i), 'localhost', request.extra)));
      }
      socket.write(Buffer.concat(frames));
    };
    const settled = (): boolean => opened && [...streams.entries()].every(([id, s]) => s.ended || s.reset !== undefined || (goaway !== undefined && id > goaway.lastStreamId));

    const onFrame = (f: Frame): void => {
      const state = streams.get(f.streamId);
      switch (f.type) {
        case FrameType.SETTINGS:
          if (f.flags & Flag.ACK) ackedOurs = true;
          else {
            socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
            ackedTheirs = true;
          }
          if (request.afterSettings && ackedOurs && ackedTheirs) openStreams();
          break;
        case FrameType.PING:
          if (!(f.flags & Flag.ACK)) socket.write(frame(FrameType.PING, Flag.ACK, 0, f.payload));
          break;
        case FrameType.HEADERS:
          if (state !== undefined && state.status === undefined) state.status = String(responseStatus(headerBlock(f)) ?? '?');
          if (state !== undefined && f.flags & Flag.END_STREAM) state.ended = true;
          break;
        case FrameType.DATA:
          if (state !== undefined && /^(slow#\d+|ok)\n/.test(f.payload.toString('latin1'))) state.backendBody = true;
          if (state !== undefined && f.flags & Flag.END_STREAM) state.ended = true;
          break;
        case FrameType.RST_STREAM: {
          const code = ERROR_NAMES[f.payload.readUInt32BE(0)] ?? String(f.payload.readUInt32BE(0));
          resets[code] = (resets[code] ?? 0) + 1;
          if (state !== undefined) state.reset = code;
          break;
        }
        case FrameType.GOAWAY: {
          const code = f.payload.readUInt32BE(4);
          goaway = { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: ERROR_NAMES[code] ?? String(code) };
          break;
        }
      }
      if (settled()) finish(false);
    };

    socket.on('error', () => {});
    socket.once('close', () => finish(true));
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return finish(false);
      // Large windows (16 MiB for the connection, 1 MiB per stream, SETTINGS id 4) so flow control
      // never holds an answer back; the probe never needs to send WINDOW_UPDATE again.
      const settings = Buffer.alloc(6);
      settings.writeUInt16BE(0x4, 0);
      settings.writeUInt32BE(1 << 20, 2);
      const increment = Buffer.alloc(4);
      increment.writeUInt32BE(16 << 20, 0);
      socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settings), frame(FrameType.WINDOW_UPDATE, 0, 0, increment)]));
      if (!request.afterSettings) openStreams();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) onFrame(f);
    });
  });
}

/** One line for a report: `128 × 200, 72 × RST REFUSED_STREAM, no GOAWAY`. */
export function describeH2(outcome: H2Outcome): string {
  if (outcome.alpn !== 'h2') return `no h2 (ALPN: ${outcome.alpn ?? 'none'})`;
  const parts = [
    ...Object.entries(outcome.statuses).map(([status, count]) => `${count} × ${status}`),
    ...Object.entries(outcome.resets).map(([code, count]) => `${count} × RST_STREAM ${code}`),
    outcome.goaway === undefined ? 'no GOAWAY' : `GOAWAY ${outcome.goaway.code} (last stream ${outcome.goaway.lastStreamId})`,
  ];
  if (outcome.unresolved > 0) parts.push(`${outcome.unresolved} unanswered`);
  return parts.join(', ');
}
