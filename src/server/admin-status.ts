import type { Config } from '../core/config.ts';
import { describeError } from '../core/errors.ts';
import { adminEndpoint } from './admin-client.ts';
import type { StatusReport } from './admin/status.ts';
import { watchFrames } from './watch-frames.ts';
import { renderStatusReport } from './status-table.ts';

type AdminSettings = NonNullable<Config['admin']>;

/**
 * `edgelb status` without `redis`: the health lives in the running balancer (embedded mode), so
 * it is asked through its admin listener (address and token from the config file).
 */
export async function runAdminStatus(admin: AdminSettings, options: { json: boolean; watch: boolean }): Promise<number> {
  if (options.watch) {
    return watchFrames(async () => {
      const report = await readStatus(admin);
      return 'error' in report ? `${report.error}\n` : renderStatusReport(report);
    });
  }
  const report = await readStatus(admin);
  if ('error' in report) {
    process.stderr.write(`edgelb: ${report.error}\n`);
    return 1;
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatusReport(report));
  return 0;
}

async function readStatus(admin: AdminSettings): Promise<StatusReport | { error: string }> {
  const { base, headers } = adminEndpoint(admin);
  try {
    const response = await fetch(`${base}/status`, { headers, signal: AbortSignal.timeout(5_000) });
    if (response.status === 401) return { error: `the admin listener at ${base} refused the token` };
    if (!response.ok) return { error: `the admin listener at ${base} answered ${response.status}` };
    return await response.json() as StatusReport;
  } catch (error) {
    return { error: `cannot reach the admin listener at ${base}: ${describeError((error as { cause?: unknown }).cause ?? error)}` };
  }
}
