import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CertPairConfig } from '../../core/config.ts';

/** A certificate file, or its key file, that cannot be served; `key` is the config key path to name. */
export class CertificateProblem extends Error {
  readonly key: string;

  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'CertificateProblem';
    this.key = key;
  }
}

/** A certificate and its private key, read and checked: both parse and the key is the certificate's. */
export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The host names the certificate is for (DNS subject alternative names, else the common name), lower case. */
  readonly names: readonly string[];
  readonly validTo: Date;
}

/**
 * Reads and checks a configured pair. `prefix` is the key path of the listener (`listen.0.`), so a
 * problem names the exact key: `listen.0.tls.certs.1.key: ... does not match the certificate ...`.
 */
export async function loadCertificatePair(files: CertPairConfig, prefix: string): Promise<CertificatePair> {
  const certKey = `${prefix}${files.at}.cert`;
  const keyKey = `${prefix}${files.at}.key`;
  const cert = await readPem(files.cert, certKey);
  const key = await readPem(files.key, keyKey);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new CertificateProblem(certKey, `${files.cert} is not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CertificateProblem(keyKey, `${files.key} is not an unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CertificateProblem(keyKey, `${files.key} does not match the certificate ${files.cert}`);
  }
  return { cert, key, names: certificateNames(certificate), validTo: certificate.validToDate };
}

async function readPem(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CertificateProblem(key, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** DNS names from the subject alternative names; the common name only when there are none (RFC 6125). */
function certificateNames(certificate: X509Certificate): string[] {
  const names = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (names.length > 0) return names;
  const commonName = /^CN=(.+)$/m.exec(certificate.subject)?.[1];
  return commonName === undefined ? [] : [commonName.toLowerCase()];
}
