import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** A throw-away CA in a fresh folder that signs certificates on demand, made with `openssl`. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'edgelb-certs-'));
  readonly cert = join(this.dir, 'ca.crt');
  readonly #key = join(this.dir, 'ca.key');

  constructor() {
    openssl(['req', '-x509', ...newKey(this.#key), '-out', this.cert, '-days', '2', '-subj', '/CN=edgelb test CA']);
  }

  /**
   * A certificate for `names` (subject alternative names; the first is also the common name).
   * `days: -1` makes one that has already expired; `file` names the files (default: the first name).
   */
  issue(names: readonly string[], { days = 2, file = names[0]! } = {}): CertFiles {
    const key = join(this.dir, `${file}.key`);
    const csr = join(this.dir, `${file}.csr`);
    const cert = join(this.dir, `${file}.crt`);
    const extensions = join(this.dir, `${file}.ext`);
    writeFileSync(extensions, `subjectAltName=${names.map((name) => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',')}\n`);
    openssl(['req', ...newKey(key), '-out', csr, '-subj', `/CN=${names[0]}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.#key, '-CAcreateserial', '-days', String(days), '-out', cert, '-extfile', extensions]);
    return { cert, key };
  }
}

function newKey(keyFile: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile];
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
