/**
 * The open-loop load generator of bench/balancing.ts, a process of its own driven over stdin (one
 * JSON command a line, one JSON answer a line on stdout, in order); it exits when stdin closes.
 *
 *   {"cmd":"run","port":P,"rate":400,"seconds":10,"connections":32}
 *
 * opens `connections` keep-alive connections to 127.0.0.1:P, then schedules `rate × seconds`
 * `GET /` at fixed times (request i at start + i / rate) whatever the answers do: a request whose
 * time has come waits in a queue for a free connection (one request at a time on each, the
 * longest-idle first), so a stalled proxy shows as latency instead of as fewer requests. Latency
 * is from the request's scheduled time to the end of its response. A request that fails (the
 * connection closed or reset under it, no answer within 10 s, or still unanswered 5 s after the
 * last was scheduled) counts as failed. The answer names the peer that answered, from the
 * upstreams' `x-peer` header.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

export interface RunCommand {
  cmd: 'run';
  port: number;
  rate: number;
  seconds: number;
  connections: number;
}

export interface RunResult {
  scheduled: number;
  /** Answered with a status (any). */
  answered: number;
  /** 2xx answers. */
  ok: number;
  /** Answers that were not 2xx, by status. */
  statuses: Record<string, number>;
  /** Requests with no answer: connection closed or reset, timed out, or never sent. */
  failed: number;
  failures: Record<string, number>;
  /** µs from scheduled time to the end of the response, for every answered request. */
  latenciesUs: number[];
  /** Answers per `x-peer` (any status), and the non-2xx among them. */
  perPeer: Record<string, { answers: number; non2xx: number }>;
  /** Per second of the schedule: requests not answered 2xx. */
  errorsPerSecond: number[];
  /** Per second of the schedule: answers from each peer. */
  peerPerSecond: Record<string, number[]>;
  /** Per second of the schedule: the longest latency of an answered request, µs. */
  latencyMaxPerSecondUs: number[];
  /** How late the generator noticed a request's time had come (its own lag, not the proxy's), µs. */
  timerLagMaxUs: number;
  /** Longest a due request waited for a free connection, µs. */
  queueWaitMaxUs: number;
  /** Connections opened during the run beyond the first `connections` (after a close). */
  reconnects: number;
  elapsedMs: number;
}

interface Request {
  index: number;
  scheduledMs: number;
  sentMs: number;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  socket: net.Socket | undefined;
  request: Request | undefined;
  buffer: Buffer;
}

const REQUEST_TIMEOUT_MS = 10_000;
const DRAIN_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;

interface Parsed {
  status: number;
  peer: string | undefined;
  close: boolean;
  /** Bytes of the buffer the response took. */
  length: number;
}

/** One complete response at the start of `buffer`, or undefined while it is incomplete. */
function parseResponse(buffer: Buffer): Parsed | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  let contentLength: number | undefined;
  let chunked = false;
  let close = /^HTTP\/1\.0/.test(lines[0]!);
  let peer: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding') chunked = /chunked/i.test(value);
    else if (name === 'connection') close = /close/i.test(value) ? true : /keep-alive/i.test(value) ? false : close;
    else if (name === 'x-peer') peer = value;
  }
  let at = headEnd + 4;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, peer, close, length: at };
  if (chunked) {
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
      at = lineEnd + 2;
      if (size === 0) {
        // No trailers from any of these servers: the last chunk ends with an empty line.
        if (buffer.length < at + 2) return undefined;
        return { status, peer, close, length: at + 2 };
      }
      if (buffer.length < at + size + 2) return undefined;
      at += size + 2;
    }
  }
  if (contentLength === undefined) throw new Error(`a response with neither content-length nor chunked (status ${status})`);
  if (buffer.length < at + contentLength) return undefined;
  return { status, peer, close, length: at + contentLength };
}

function run(command: RunCommand): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const { port, rate, seconds, connections } = command;
    const total = Math.round(rate * seconds);
    const intervalMs = 1000 / rate;
    const requestBytes = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: edgelb-bench\r\n\r\n`, 'latin1');
    const result: RunResult = {
      scheduled: total, answered: 0, ok: 0, statuses: {}, failed: 0, failures: {}, latenciesUs: [], perPeer: {},
      errorsPerSecond: Array.from({ length: Math.ceil(seconds) }, () => 0), peerPerSecond: {},
      latencyMaxPerSecondUs: Array.from({ length: Math.ceil(seconds) }, () => 0),
      timerLagMaxUs: 0, queueWaitMaxUs: 0, reconnects: 0, elapsedMs: 0,
    };
    const slots: Slot[] = [];
    const idle: Slot[] = [];
    const queue: Request[] = [];
    let start = 0;
    let issued = 0;
    let settled = 0;
    let running = false;
    let finished = false;
    let opened = 0;
    let tickTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const second = (request: Request) => Math.min(result.errorsPerSecond.length - 1, Math.floor((request.scheduledMs - start) / 1000));
    const settle = (request: Request) => {
      clearTimeout(request.timer);
      settled++;
      if (running && issued === total && settled === total) finish();
    };
    const fail = (request: Request, why: string) => {
      result.failed++;
      result.failures[why] = (result.failures[why] ?? 0) + 1;
      result.errorsPerSecond[second(request)]!++;
      settle(request);
    };
    const answer = (request: Request, status: number, peer: string | undefined, now: number) => {
      result.answered++;
      const latencyUs = Math.round((now - request.scheduledMs) * 1000);
      result.latenciesUs.push(latencyUs);
      const s = second(request);
      result.latencyMaxPerSecondUs[s] = Math.max(result.latencyMaxPerSecondUs[s]!, latencyUs);
      const good = status >= 200 && status < 300;
      if (good) result.ok++;
      else {
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        result.errorsPerSecond[second(request)]!++;
      }
      const name = peer ?? 'none';
      const counts = (result.perPeer[name] ??= { answers: 0, non2xx: 0 });
      counts.answers++;
      if (!good) counts.non2xx++;
      (result.peerPerSecond[name] ??= Array.from({ length: result.errorsPerSecond.length }, () => 0))[second(request)]!++;
      settle(request);
    };

    const dispatch = () => {
      while (queue.length > 0 && idle.length > 0) {
        const slot = idle.shift()!;
        const request = queue.shift()!;
        const now = performance.now();
        request.sentMs = now;
        result.queueWaitMaxUs = Math.max(result.queueWaitMaxUs, Math.round((now - request.scheduledMs) * 1000));
        slot.request = request;
        request.timer = setTimeout(() => {
          if (slot.request !== request) return;
          slot.request = undefined;
          fail(request, 'timeout');
          slot.socket?.destroy();
        }, REQUEST_TIMEOUT_MS);
        slot.socket!.write(requestBytes);
      }
    };

    const connect = (slot: Slot, onReady?: () => void) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      slot.socket = socket;
      slot.buffer = Buffer.alloc(0);
      socket.on('connect', () => {
        if (finished) return socket.destroy();
        idle.push(slot);
        onReady?.();
        dispatch();
      });
      socket.on('data', (data: Buffer) => {
        slot.buffer = slot.buffer.length === 0 ? data : Buffer.concat([slot.buffer, data]);
        for (;;) {
          let parsed: Parsed | undefined;
          try {
            parsed = parseResponse(slot.buffer);
          } catch {
            socket.destroy();
            return;
          }
          if (parsed === undefined) return;
          slot.buffer = slot.buffer.subarray(parsed.length);
          const request = slot.request;
          slot.request = undefined;
          if (request !== undefined) answer(request, parsed.status, parsed.peer, performance.now());
          if (parsed.close) {
            socket.destroy();
            return;
          }
          if (request !== undefined && !finished) {
            idle.push(slot);
            dispatch();
          }
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        const i = idle.indexOf(slot);
        if (i >= 0) idle.splice(i, 1);
        const request = slot.request;
        slot.request = undefined;
        if (request !== undefined) fail(request, 'connection closed');
        if (slot.socket !== socket || finished) return;
        slot.socket = undefined;
        // Reconnect after a pause, for as long as the run lasts.
        setTimeout(() => {
          if (finished) return;
          result.reconnects++;
          connect(slot);
        }, 20);
      });
    };

    const tick = () => {
      const now = performance.now();
      while (issued < total && start + issued * intervalMs <= now) {
        const scheduledMs = start + issued * intervalMs;
        result.timerLagMaxUs = Math.max(result.timerLagMaxUs, Math.round((now - scheduledMs) * 1000));
        queue.push({ index: issued, scheduledMs, sentMs: 0, timer: undefined });
        issued++;
      }
      dispatch();
      if (issued < total) tickTimer = setTimeout(tick, Math.max(0, start + issued * intervalMs - performance.now()));
      else drainTimer = setTimeout(finish, DRAIN_MS);
    };

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(tickTimer);
      clearTimeout(drainTimer);
      result.elapsedMs = performance.now() - start;
      for (const request of queue.splice(0)) fail(request, 'never sent');
      for (const slot of slots) {
        if (slot.request !== undefined) {
          const request = slot.request;
          slot.request = undefined;
          fail(request, 'no answer');
        }
        slot.socket?.destroy();
      }
      resolveRun(result);
    };

    const begin = () => {
      if (running || finished) return;
      running = true;
      start = performance.now();
      tick();
    };
    // Start once every connection is open (or after CONNECT_TIMEOUT_MS with those that are).
    const connectTimer = setTimeout(begin, CONNECT_TIMEOUT_MS);
    for (let i = 0; i < connections; i++) {
      const slot: Slot = { socket: undefined, request: undefined, buffer: Buffer.alloc(0) };
      slots.push(slot);
      connect(slot, () => {
        if (++opened === connections) {
          clearTimeout(connectTimer);
          begin();
        }
      });
    }
  });
}

if (import.meta.main) {
  const lines = createInterface({ input: process.stdin });
  lines.on('close', () => process.exit(0));
  for await (const line of lines) {
    const command = JSON.parse(line) as RunCommand | { cmd: 'ready' };
    const reply = command.cmd === 'run' ? await run(command) : {};
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}
