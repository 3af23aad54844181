/**
 * Request ids tie an error response to its log line. A client's own `X-Request-Id` is kept when
 * it looks like an id; otherwise ids are a per-process random prefix plus a counter, which is
 * unique enough to grep for and costs nothing on the request path.
 */
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;
const prefix = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
let counter = 0;

export function requestId(fromClient: string | undefined | null): string {
  if (fromClient && ACCEPTABLE.test(fromClient)) return fromClient;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter.toString(36)}`;
}
