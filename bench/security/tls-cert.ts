import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A self-signed certificate for `localhost` and 127.0.0.1, as the three proxies want it. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  /** Certificate and key in one file, the form HAProxy's `crt` reads. */
  readonly combined: string;
}

/** Made at run time into `dir`, so no key is ever checked in; valid for a day. */
export async function makeSelfSignedCert(dir: string): Promise<CertFiles> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const combined = join(dir, 'combined.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  await writeFile(combined, (await readFile(cert, 'utf8')) + (await readFile(key, 'utf8')));
  return { cert, key, combined };
}
