/**
 * Loaded with `node --import` by `bench/slow-readers.ts --census`: in an edgelb worker, SIGUSR2
 * writes `$MEMORY_CENSUS_DIR/census-PID-N.json` with where the worker's memory is (V8's heap and
 * array buffers, glibc's `[heap]` mapping, the bytes queued in its sockets), then the same after
 * two full garbage collections, which tells what is live from what only waits for a collection.
 * `census-PID.ready` says it is loaded. Any other process (the primary) ignores it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Server } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

const out = process.env.MEMORY_CENSUS_DIR;

interface Figures {
  rssKiB: number;
  /** Resident part of glibc's main heap (`[heap]` in smaps): freed memory malloc kept. */
  mallocHeapKiB: number;
  heapUsed: number;
  arrayBuffers: number;
}

function figures(): Figures {
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  let mallocHeapKiB = 0;
  let inHeap = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith('[heap]');
    else if (inHeap && line.startsWith('Rss:')) mallocHeapKiB += Number(line.split(/\s+/)[1]);
  }
  const memory = process.memoryUsage();
  return { rssKiB: rss, mallocHeapKiB, heapUsed: memory.heapUsed, arrayBuffers: memory.arrayBuffers };
}

if (out !== undefined && process.argv[1]?.includes('worker-main')) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // Client connections (the HTTP server's) and upstream ones (every socket this process connects).
  const clients = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();
  const track = (set: Set<net.Socket>, socket: net.Socket) => {
    set.add(socket);
    socket.once('close', () => set.delete(socket));
  };
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') track(clients, args[0] as net.Socket);
    return emit.call(this, event, ...args);
  } as typeof emit;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    track(upstreams, this);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;

  let count = 0;
  process.on('SIGUSR2', () => {
    const queued = [...clients].filter((socket) => socket.writableLength > 0);
    const census = {
      clients: clients.size,
      upstreams: upstreams.size,
      /** Client sockets with response bytes waiting for the kernel to take them. */
      clientsWithQueue: queued.length,
      clientWriteQueued: queued.reduce((total, socket) => total + socket.writableLength, 0),
      /** Bytes read from peers and not yet parsed: undici paused while the client was full. */
      upstreamReadBuffered: [...upstreams].reduce((total, socket) => total + socket.readableLength, 0),
      now: figures(),
      afterGc: (gc(), gc(), figures()),
    };
    const file = join(out, `census-${process.pid}-${count++}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(census));
    renameSync(`${file}.tmp`, file);
  });
  writeFileSync(join(out, `census-${process.pid}.ready`), '');
}
