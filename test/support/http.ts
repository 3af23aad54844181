import { connect } from 'node:net';
import { Agent, request } from 'undici';

/** A client with its own keep-alive connections, like a browser or service talking to edgelb. */
export const client = new Agent({ keepAliveTimeout: 1000, connections: 64 });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, { dispatcher: client, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The echo upstream's JSON description of the request it received. */
export interface Echo {
  name: string;
  method: string;
  url: string;
  rawHeaders: string[];
  bodyLength: number;
}

export function echoHeader(echo: Echo, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < echo.rawHeaders.length; i += 2) {
    if (echo.rawHeaders[i]!.toLowerCase() === name) values.push(echo.rawHeaders[i + 1]!);
  }
  return values;
}

/** Sends `text` as is on a new connection and returns everything read until the server closes it. */
export function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    // A listener may reset the connection right after an error response.
    socket.on('close', () => (reply ? resolve(reply) : reject(new Error('the connection closed without a reply'))));
    socket.on('error', () => {});
  });
}
