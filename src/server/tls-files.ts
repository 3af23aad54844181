import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { loadCertificatePair } from '../edge/node/certificate-pair.ts';

/** The config with every certificate, key and CA path made absolute against `baseDir` (the config file's folder). */
export function withAbsoluteTlsPaths(config: Config, baseDir: string): Config {
  return {
    ...config,
    listen: config.listen.map((listener) => listener.tls === undefined ? listener : {
      ...listener,
      tls: { certs: listener.tls.certs.map((pair) => ({ ...pair, cert: resolve(baseDir, pair.cert), key: resolve(baseDir, pair.key) })) },
    }),
    upstreams: Object.fromEntries(Object.entries(config.upstreams).map(([name, pool]) =>
      [name, pool.ca_file === undefined ? pool : { ...pool, ca_file: resolve(baseDir, pool.ca_file) }])),
  };
}

/**
 * Problems with the TLS files the config names, one line each naming the key: certificate and
 * key files that are missing or do not parse, keys that do not match their certificate, CA files
 * without a certificate.
 */
export async function tlsFileProblems(config: Config): Promise<string[]> {
  const problems: string[] = [];
  for (const [index, listener] of config.listen.entries()) {
    for (const pair of listener.tls?.certs ?? []) {
      await loadCertificatePair(pair, `listen.${index}.`).catch((error: Error) => problems.push(error.message));
    }
  }
  for (const [name, pool] of Object.entries(config.upstreams)) {
    if (pool.ca_file === undefined) continue;
    const problem = await caFileProblem(pool.ca_file);
    if (problem !== undefined) problems.push(`upstreams.${name}.ca_file: ${problem}`);
  }
  return problems;
}

async function caFileProblem(path: string): Promise<string | undefined> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (error) {
    return `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  try {
    new X509Certificate(pem);
    return undefined;
  } catch {
    return `${path} holds no PEM certificate`;
  }
}
