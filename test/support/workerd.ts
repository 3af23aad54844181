import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import type { LogLine } from './processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Wrangler's own network use (usage metrics, update check) stays off: tests talk to loopback only. */
export const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true' };

export interface WorkersBundle {
  readonly dir: string;
  readonly script: string;
  readonly output: string;
}

let built: Promise<WorkersBundle> | undefined;

/** `wrangler deploy --dry-run --outdir DIR`: the bundle `wrangler deploy` would upload, built once per run. */
export function buildWorkersBundle(): Promise<WorkersBundle> {
  built ??= new Promise((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-workers-'));
    execFile(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', dir], { cwd: root, env: WRANGLER_ENV }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      // wrangler names the bundle after wrangler.toml's `main` (src/edge/workers/entry.ts).
      const script = join(dir, 'entry.js');
      if (error) reject(new Error(`wrangler deploy --dry-run failed: ${output}`));
      else if (!existsSync(script)) reject(new Error(`wrangler wrote no entry.js: ${output}`));
      else resolve({ dir, script, output });
    });
  });
  return built;
}

export interface RunningWorkerd {
  readonly url: string;
  readonly logs: LogLine[];
  stop(): Promise<void>;
}

/**
 * Runs the Workers bundle in workerd through Miniflare, with the same settings as wrangler.toml
 * and `bindings` as its vars and secrets; its console output (one JSON line per entry) is parsed into `logs`.
 */
export async function startWorkerd(bindings: Record<string, string>): Promise<RunningWorkerd> {
  const { dir, script } = await buildWorkersBundle();
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, 'wrangler.toml'), 'utf8'))![1]!;
  const logs: LogLine[] = [];
  const collect = (line: string) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      // workerd's own messages are not JSON.
    }
  };
  const miniflare = new Miniflare(convertV4MiniflareOptions({
    name: 'edgelb',
    modules: true,
    scriptPath: script,
    modulesRoot: dir,
    compatibilityDate,
    bindings: { LOG_LEVEL: 'debug', ...bindings },
    // No request.cf data: Miniflare would otherwise fetch it from Cloudflare.
    cf: false,
    host: '127.0.0.1',
    port: 0,
    handleStructuredLogs: ({ message }: { message: string }) => collect(message),
  }));
  const url = await miniflare.ready;
  return { url: url.origin, logs, stop: () => miniflare.dispose() };
}
