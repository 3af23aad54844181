/**
 * The TLS server name (SNI, and the name the peer's certificate must carry) for a peer of a TLS
 * pool: the pool's `host` without its port, else the peer's own host; none for an IP address,
 * which SNI cannot carry (RFC 6066 §3).
 */
export function upstreamServerName(poolHost: string | undefined, peerHost: string): string | undefined {
  const name = poolHost === undefined ? peerHost : poolHost.replace(/:\d+$/, '');
  return isIpLiteral(name) ? undefined : name;
}

function isIpLiteral(host: string): boolean {
  return host.includes(':') || host.startsWith('[') || /^[\d.]+$/.test(host);
}
