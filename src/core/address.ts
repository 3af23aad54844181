/** A `host:port` pair as written in the config: `10.0.0.1:8080`, `[::1]:8080`, `backend.local:80`. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

const BRACKETED_IPV6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/;
const HOST_PORT = /^([A-Za-z0-9.-]+):(\d+)$/;

/** `allowPortZero` is for listeners, where port 0 asks the system for a free port. */
export function parseAddress(text: string, { allowPortZero = false } = {}): Address | { error: string } {
  const match = BRACKETED_IPV6.exec(text) ?? HOST_PORT.exec(text);
  if (!match) return { error: `"${text}" is not host:port (IPv6 as [::1]:8080)` };
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < (allowPortZero ? 0 : 1) || port > 65535) {
    return { error: `"${text}": port must be ${allowPortZero ? 0 : 1}-65535` };
  }
  return { host: match[1]!, port };
}

/** The canonical text of an address, used as the peer's identity in logs and stores. */
export function formatAddress({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether only this machine can reach `host`: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
