import { spawn, type ChildProcess } from 'node:child_process';
import { connect as http2Connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CertFiles } from './certs.ts';

const fixture = fileURLToPath(new URL('../fixtures/tls-upstream.ts', import.meta.url));
const running = new Set<ChildProcess>();

/** Kills every TLS upstream started (their output pipes would keep the test process alive). */
export function killTlsUpstreams(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
process.on('exit', killTlsUpstreams);

/** Starts test/fixtures/tls-upstream.ts serving `cert`; resolves with its `host:port`. */
export async function startTlsUpstream(name: string, cert: CertFiles): Promise<{ address: string; kill(): void }> {
  const child = spawn(process.execPath, [fixture, '--name', name, '--cert', cert.cert, '--key', cert.key], { stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`tls upstream ${name} exited with ${code}`)));
  });
  return { address: `127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, kill: () => child.kill('SIGKILL') };
}

/** Completes a TLS handshake with `127.0.0.1:port` and returns what was negotiated. */
export function handshake(port: number, options: ConnectionOptions = {}): Promise<{ certificate: PeerCertificate; protocol: string | null; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      resolve({ certificate: socket.getPeerCertificate(), protocol: socket.getProtocol(), alpn: socket.alpnProtocol ?? false });
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** An HTTP/2 session to `127.0.0.1:port` that trusts `caFile` and asks for `servername`. */
export function h2Session(port: number, caFile: string, servername = 'example.com'): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://${servername}:${port}`, {
      ca: readFileSync(caFile),
      servername,
      lookup: (_host, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }] as never, 4),
    });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface H2Reply {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on an HTTP/2 session; `body` is sent as the request body when given. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (received) => (responseHeaders = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A stream cut with its connection also "ends"; only a whole answer counts.
    stream.on('close', () => {
      if (stream.rstCode === 0 && responseHeaders[':status'] !== undefined) resolve({ headers: responseHeaders, body: Buffer.concat(chunks) });
      else reject(new Error(`the stream was cut (RST code ${stream.rstCode})`));
    });
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}
