import type { MiddlewareHandler } from 'hono';

/** Methods that only read; every other one may change something (drain and undrain, adding and removing peers). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that a browser sent on behalf of another site. Any page can
 * make a browser POST to a loopback address without a CORS preflight (a form, or `fetch` in
 * `no-cors` mode); the browser marks such a request with `Sec-Fetch-Site` and `Origin`, and only
 * a form can send it from an old browser that sets neither, always with one of the form content
 * types. Clients that are not browsers (`edgelb drain`, curl) send none of these and pass, as in
 * Go's `http.CrossOriginProtection`. Only for a listener without a token: a bearer token is
 * never sent by the browser on its own, so with one there is nothing to forge.
 */
export function sameOriginWrites(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const reason = crossSiteReason(c.req.raw.headers, c.req.header('host') ?? '');
    if (reason !== undefined) return c.json({ error: `refused: ${reason}` }, 403);
    return next();
  };
}

function crossSiteReason(headers: Headers, host: string): string | undefined {
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return `a ${site} request (Sec-Fetch-Site)`;
  const origin = headers.get('origin');
  const own = `http://${host}`.toLowerCase();
  if (origin !== null && origin.toLowerCase() !== own) return `Origin ${origin} is not this admin listener's (${own})`;
  const type = headers.get('content-type');
  if (type !== null && type.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    return `Content-Type ${type}, which any page's form can send; send application/json or no body`;
  }
  return undefined;
}
