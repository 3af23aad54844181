import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { CertPairConfig } from '../../core/config.ts';
import { describeError } from '../../core/errors.ts';
import type { Log } from '../../core/log.ts';
import { loadCertificatePair, type CertificatePair } from './certificate-pair.ts';

/**
 * Protocol settings of every TLS listener: TLS 1.2 and 1.3 only, and for TLS 1.2 only forward-
 * secret AEAD suites (Mozilla's "intermediate" list), which is also what HTTP/2 requires
 * (RFC 9113 §9.2.2). TLS 1.3 suites are all strong and keep Node's defaults.
 */
export const LISTENER_TLS: SecureContextOptions = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
};

interface Served {
  readonly files: CertPairConfig;
  pair: CertificatePair;
  context: SecureContext;
}

/**
 * The certificates of one TLS listener. SNI picks the one whose names match the requested server
 * name (exactly, else by a `*.` wildcard for one label); a client that names none, or a name no
 * certificate has, gets the first (default) one. `reload` re-reads the files: a pair whose new
 * files are broken is logged and keeps serving its old certificate.
 */
export class ServerCertificates {
  readonly #served: Served[];
  readonly #prefix: string;
  readonly #log: Log;
  #byName = new Map<string, SecureContext>();
  #onDefaultChange: ((options: SecureContextOptions) => void) | undefined;
  #reloading: Promise<number> = Promise.resolve(0);

  private constructor(served: Served[], prefix: string, log: Log) {
    this.#served = served;
    this.#prefix = prefix;
    this.#log = log;
    this.#index();
  }

  /** Loads every pair; throws the first `CertificateProblem`. `prefix` is the listener's key path (`listen.0.`). */
  static async load(files: readonly CertPairConfig[], prefix: string, log: Log): Promise<ServerCertificates> {
    const served: Served[] = [];
    for (const pairFiles of files) {
      const pair = await loadCertificatePair(pairFiles, prefix);
      served.push({ files: pairFiles, pair, context: contextOf(pair) });
      warnIfExpired(pair, pairFiles, log);
    }
    return new ServerCertificates(served, prefix, log);
  }

  /** Every file in use, for watching. */
  files(): string[] {
    return this.#served.flatMap(({ files }) => [files.cert, files.key]);
  }

  /** Options for the server's own (default) context, for clients that send no SNI. */
  defaultOptions(): SecureContextOptions {
    const { pair } = this.#served[0]!;
    return { ...LISTENER_TLS, cert: pair.cert, key: pair.key };
  }

  /** Called with the new default options whenever the default certificate changes. */
  onDefaultChange(listener: (options: SecureContextOptions) => void): void {
    this.#onDefaultChange = listener;
  }

  readonly sniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void): void => {
    const name = servername.toLowerCase();
    const dot = name.indexOf('.');
    callback(null, this.#byName.get(name) ?? (dot > 0 ? this.#byName.get(`*${name.slice(dot)}`) : undefined) ?? this.#served[0]!.context);
  };

  /**
   * Re-reads every pair; unchanged files are left alone. Resolves with how many pairs changed.
   * Reloads run one after another, so a signal and a file change at once cannot interleave.
   */
  reload(): Promise<number> {
    const next = this.#reloading.then(() => this.#reloadNow());
    this.#reloading = next.catch(() => 0);
    return next;
  }

  async #reloadNow(): Promise<number> {
    let changed = 0;
    for (const [index, served] of this.#served.entries()) {
      let pair: CertificatePair;
      try {
        pair = await loadCertificatePair(served.files, this.#prefix);
      } catch (error) {
        this.#log.error(
          { key: `${this.#prefix}${served.files.at}`, reason: describeError(error) },
          'certificate reload failed; the old certificate keeps serving',
        );
        continue;
      }
      if (pair.cert.equals(served.pair.cert) && pair.key.equals(served.pair.key)) continue;
      served.pair = pair;
      served.context = contextOf(pair);
      changed++;
      this.#log.info(
        { key: `${this.#prefix}${served.files.at}`, cert: served.files.cert, names: pair.names, validTo: pair.validTo.toISOString() },
        'certificate reloaded',
      );
      warnIfExpired(pair, served.files, this.#log);
      if (index === 0) this.#onDefaultChange?.(this.defaultOptions());
    }
    if (changed > 0) this.#index();
    return changed;
  }

  #index(): void {
    const byName = new Map<string, SecureContext>();
    // On a name two certificates share, the first one configured wins.
    for (const { pair, context } of this.#served) for (const name of pair.names) if (!byName.has(name)) byName.set(name, context);
    this.#byName = byName;
  }
}

function contextOf(pair: CertificatePair): SecureContext {
  return createSecureContext({ ...LISTENER_TLS, cert: pair.cert, key: pair.key });
}

function warnIfExpired(pair: CertificatePair, files: CertPairConfig, log: Log): void {
  if (pair.validTo.getTime() < Date.now()) {
    log.warn({ cert: files.cert, names: pair.names, validTo: pair.validTo.toISOString() }, 'certificate has expired');
  }
}
