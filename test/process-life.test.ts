import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { stringify } from 'yaml';
import { isRunning, killPid, killSpawned, spawnEdgelb, type EdgelbProcess } from './support/edgelb-process.ts';
import { sample } from './support/admin.ts';
import { client } from './support/http.ts';
import { runLoad } from './support/keep-alive-load.ts';
import { killAll, startUpstream, startWsUpstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

interface Setup {
  readonly configFile: string;
  readonly pidFile: string;
  readonly errorLog: string;
  write(config: Record<string, unknown>): void;
}

function setup(config: Record<string, unknown>): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-life-'));
  const files = { configFile: join(dir, 'edgelb.yaml'), pidFile: join(dir, 'edgelb.pid'), errorLog: join(dir, 'error.log') };
  const write = (next: Record<string, unknown>) => writeFileSync(files.configFile, stringify({
    pid_file: files.pidFile,
    error_log: files.errorLog,
    upgrade_sock: join(dir, 'upgrade.sock'),
    listen: ['127.0.0.1:0'],
    ...next,
  }));
  write(config);
  return { ...files, write };
}

async function serving(lb: EdgelbProcess): Promise<{ url: string; pid: number; workers: number[] }> {
  const line = await Promise.race([
    waitFor('edgelb to serve', () => lb.logs.find((l) => l.msg === 'edgelb is serving'), { timeoutMs: 20_000 }),
    lb.exited.then((code) => Promise.reject(new Error(`edgelb exited with ${code}: ${lb.messages.join('\n')}`))),
  ]);
  return { url: `http://${(line.listen as string[])[0]}`, pid: line.pid as number, workers: line.workers as number[] };
}

function pidIn(file: string): number | undefined {
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

/** An open WebSocket and a way to send a message and wait for its echo. */
async function openEcho(url: string): Promise<{ ws: WebSocket; echo(message: string): Promise<string> }> {
  const ws = new WebSocket(url);
  const received: string[] = [];
  ws.addEventListener('message', (event) => received.push(String(event.data)));
  await within(`a WebSocket to ${url}`, new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)));
  }));
  return {
    ws,
    async echo(message) {
      const before = received.length;
      ws.send(message);
      return waitFor('the echo', () => received.length > before && received[before]!);
    },
  };
}

/** A deadline on a promise, so a test fails instead of hanging. */
function within<T>(what: string, promise: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref())]);
}

const daemons: number[] = [];
after(() => {
  daemons.forEach((pid) => killPid(pid));
  killSpawned();
  killAll();
});

/** The documented upgrade: `edgelb -u` waits on upgrade_sock, SIGQUIT to the old one, which drains and exits 0. */
async function upgrade(old: EdgelbProcess, files: Setup): Promise<{ next: EdgelbProcess; newPid: number }> {
  const next = spawnEdgelb(['-u', '-c', files.configFile]);
  await waitFor('the new process to wait on upgrade_sock', () => next.messages.some((m) => m.includes('waiting on')));
  old.process.kill('SIGQUIT');
  const { pid: newPid } = await serving(next);
  daemons.push(newPid);
  assert.equal(await within('the old process to drain and exit', old.exited), 0);
  return { next, newPid };
}

describe('graceful upgrade (-u and SIGQUIT)', () => {
  it('hands the listening sockets to the new process under load: no failed request, no reset', async () => {
    const upstream = await startUpstream('upgrade');
    const files = setup({ threads: 2, grace_period_seconds: 10, upstreams: { web: { peers: [upstream.address] } } });
    const old = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(old);

    // Bounded: the load ends by itself after 20 s; it is stopped earlier once the new process has
    // answered a good number of requests on its own.
    const load = runLoad(url, { clients: 16, durationMs: 20_000 });
    await waitFor('the load to run', () => load.completed() > 100);
    const { next, newPid } = await upgrade(old, files);
    const oldExitedAt = load.completed();
    await waitFor('the new process to answer on its own', () => load.completed() > oldExitedAt + 500, { timeoutMs: 15_000 });
    load.stop();
    const result = await load.done;

    assert.deepEqual(result.failures, {}, 'no request failed, none was reset or refused');
    assert.equal(pidIn(files.pidFile), newPid, 'the new process took over the pid file');
    assert.ok(old.logs.some((l) => l.msg === 'the new process serves on the listening sockets; draining'));
    assert.equal((await request(url, { dispatcher: client })).statusCode, 200);

    next.process.kill('SIGTERM');
    assert.equal(await within('the new process to stop', next.exited), 0);
    assert.equal(existsSync(files.pidFile), false, 'SIGTERM removed the pid file');
  });

  it('hands the admin listener over too: the new build answers on the same admin address', async () => {
    const upstream = await startUpstream('admin-upgrade');
    const files = setup({ admin: { listen: '127.0.0.1:0' }, upstreams: { web: { peers: [upstream.address] } } });
    const old = spawnEdgelb(['-c', files.configFile]);
    await serving(old);
    const adminOf = (lb: EdgelbProcess) => lb.logs.find((l) => l.msg === 'edgelb is serving')?.admin;
    const admin = adminOf(old);
    assert.equal(typeof admin, 'string');
    // A reload starts new workers on the same admin socket; the reload count carries over.
    old.process.kill('SIGHUP');
    await waitFor('the reload', () => old.logs.some((l) => l.msg === 'configuration reloaded'));
    const metrics = await request(`http://${String(admin)}/metrics`, { dispatcher: client });
    assert.equal(sample(await metrics.body.text(), 'edgelb_config_reloads_total'), 1);
    const { next, newPid } = await upgrade(old, files);
    assert.equal(adminOf(next), admin, 'the same admin socket, not a new one');
    const status = await request(`http://${String(admin)}/status`, { dispatcher: client });
    assert.equal(status.statusCode, 200);
    const body = await status.body.json() as { pools: Array<{ name: string }> };
    assert.deepEqual(body.pools.map((pool) => pool.name), ['web']);
    next.process.kill('SIGTERM');
    assert.equal(await within('the new process to stop', next.exited), 0);
  });

  it('hands over what operators did: drained peers stay drained, added peers and ejections stay in the new process', async () => {
    const [a, b, c, e] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c'), startUpstream('e')]);
    // Two workers: what was done through one worker's admin listener holds in both, before and after.
    const files = setup({
      threads: 2,
      admin: { listen: '127.0.0.1:0' },
      upstreams: {
        web: {
          peers: [a.address, b.address], health_check: { interval: '300ms' },
          outlier_detection: { consecutive_failures: 1, base_ejection_time: '60s', max_ejected_percent: 100 },
        },
        failing: { peers: [e.address], retries: 0, outlier_detection: { consecutive_failures: 1, base_ejection_time: '60s', max_ejected_percent: 100 } },
      },
      routes: [{ match: { path: '/failing' }, pool: 'failing' }, { pool: 'web' }],
    });
    const old = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(old);
    // One 503 ejects e for a minute (its TCP check still passes): the pool answers 503 (no peer) from then on.
    await e.behave(503);
    assert.equal((await request(`${url}/failing`, { dispatcher: client })).statusCode, 503);
    const ejected = await request(`${url}/failing`, { dispatcher: client });
    assert.equal(ejected.statusCode, 503);
    assert.match(await ejected.body.text(), /no healthy peer/);
    const eRequests = (await e.stats()).requests;
    const admin = `http://${String(old.logs.find((l) => l.msg === 'edgelb is serving')?.admin)}`;
    const post = (path: string, body?: unknown) => request(`${admin}${path}`, {
      method: 'POST', dispatcher: client, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    assert.equal((await post(`/pools/web/peers/${b.address}/drain`)).statusCode, 200);
    assert.equal((await post('/pools/web/peers', { addr: c.address })).statusCode, 201);
    const { next } = await upgrade(old, files);
    const status = await (await request(`${admin}/status`, { dispatcher: client })).body.json() as { pools: Array<{ peers: Array<{ id: string; source: string; drained: boolean }> }> };
    assert.deepEqual(status.pools[0]!.peers.map((p) => [p.id, p.source, p.drained]), [
      [a.address, 'config', false], [b.address, 'config', true], [c.address, 'admin', false],
    ]);
    const answered = await waitFor('the new process to serve a and c, not b', async () => {
      const names = new Set<string>();
      for (let i = 0; i < 12; i++) {
        // A connection of its own each, so that both workers answer.
        const res = await request(url, { dispatcher: client, headers: { connection: 'close' } });
        names.add(String(res.headers['x-upstream']));
        await res.body.text();
      }
      return names.size === 2 && names;
    });
    assert.deepEqual([...answered].sort(), ['a', 'c']);
    const stillOut = await request(`${url}/failing`, { dispatcher: client });
    assert.match(await stillOut.body.text(), /no healthy peer/, 'the ejection holds in the new process');
    assert.equal((await e.stats()).requests, eRequests, 'no request reached the ejected peer after the upgrade');
    next.process.kill('SIGTERM');
    assert.equal(await within('the new process to stop', next.exited), 0);
  });

  it('keeps WebSocket tunnels open on the old process through an upgrade; new ones go to the new process', async () => {
    const upstream = await startWsUpstream('ws-upgrade');
    const files = setup({ grace_period_seconds: 30, upstreams: { web: { peers: [upstream.address] } } });
    const old = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(old);
    const wsUrl = `${url.replace('http', 'ws')}/tunnel`;
    const kept = await openEcho(wsUrl);
    const next = spawnEdgelb(['-u', '-c', files.configFile]);
    await waitFor('the new process to wait on upgrade_sock', () => next.messages.some((m) => m.includes('waiting on')));
    old.process.kill('SIGQUIT');
    const { pid: newPid } = await serving(next);
    daemons.push(newPid);
    await waitFor('the old process to hand over', () => old.logs.some((l) => l.msg === 'the new process serves on the listening sockets; draining'));
    await waitFor('the old worker to stop accepting', () => old.logs.some((l) => l.msg === 'worker draining: no new connections'));
    assert.equal(await kept.echo('after the upgrade'), 'after the upgrade', 'the tunnel on the old process still works');
    const fresh = await openEcho(wsUrl);
    assert.equal(await fresh.echo('new'), 'new');
    assert.ok(isRunning(old.process.pid!), 'the old process waits for its tunnel');
    kept.ws.close();
    assert.equal(await within('the old process to exit once its tunnel ended', old.exited, 15_000), 0);
    assert.equal(await fresh.echo('still'), 'still', 'the new tunnel is on the new process');
    fresh.ws.close();
    next.process.kill('SIGTERM');
    assert.equal(await within('the new process to stop', next.exited), 0);
  });

  it('keeps serving when no new process comes to upgrade_sock', { timeout: 60_000 }, async () => {
    const upstream = await startUpstream('lonely');
    const files = setup({ upstreams: { web: { peers: [upstream.address] } } });
    const lb = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(lb);
    lb.process.kill('SIGQUIT');
    await waitFor('the upgrade to give up', () => lb.logs.some((l) => l.msg.startsWith('no new process is waiting')), { timeoutMs: 45_000 });
    assert.equal((await request(url, { dispatcher: client })).statusCode, 200);
    lb.process.kill('SIGTERM');
    assert.equal(await within('exit', lb.exited), 0);
  });
});

describe('daemon (-d), pid file and SIGTERM', () => {
  it('starts in the background once serving, writes the pid file and logs to error_log; SIGTERM finishes slow requests and removes the pid file', async () => {
    const upstream = await startUpstream('slow');
    const files = setup({ threads: 2, grace_period_seconds: 10, upstreams: { web: { peers: [upstream.address] } } });
    const launcher = spawnEdgelb(['-d', '-c', files.configFile]);
    assert.equal(await within('the launcher', launcher.exited), 0, launcher.messages.join('\n'));
    const pid = pidIn(files.pidFile)!;
    daemons.push(pid);
    assert.ok(isRunning(pid));
    const [, address] = /serving on (\S+) \(pid (\d+)\)/.exec(launcher.stdout.join('\n')) ?? [];
    assert.ok(address, launcher.stdout.join('\n'));
    const url = `http://${address!.replace(/,$/, '')}`;
    assert.match(readFileSync(files.errorLog, 'utf8'), /edgelb is serving/);

    const slow = Array.from({ length: 4 }, () => request(`${url}/slow?ms=1500`, { dispatcher: client }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() })));
    await waitFor('the requests to reach the peer', async () => (await upstream.stats()).slowPending === 4);
    process.kill(pid, 'SIGTERM');
    for (const reply of await Promise.all(slow)) assert.deepEqual(reply, { status: 200, body: 'slow slow\n' });
    await waitFor('the daemon to exit', () => !isRunning(pid));
    assert.equal(existsSync(files.pidFile), false, 'the pid file was removed');
    assert.match(readFileSync(files.errorLog, 'utf8'), /"msg":"stopped"/);
    // The access log (stdout by default) has a file of its own beside the error log.
    const accessLog = join(dirname(files.errorLog), 'edgelb_access.log');
    const slowLines = readFileSync(accessLog, 'utf8').split('\n').filter((line) => line.includes('/slow?ms=1500'));
    assert.equal(slowLines.length, 4);
    assert.doesNotMatch(readFileSync(files.errorLog, 'utf8'), /\/slow\?ms=1500/, 'no access line in the error log');
  });

  it('fails with the reason and a non-zero exit when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const files = setup({ listen: [`127.0.0.1:${port}`], upstreams: { web: { peers: ['127.0.0.1:1'] } } });
      const launcher = spawnEdgelb(['-d', '-c', files.configFile]);
      assert.equal(await within('the launcher', launcher.exited), 1);
      assert.match(launcher.messages.join('\n'), new RegExp(`cannot start: listen EADDRINUSE 127\\.0\\.0\\.1:${port}`));
      assert.equal(existsSync(files.pidFile), false);
    } finally {
      taken.close();
    }
  });

  it('replaces a stale pid file and refuses to start next to a live instance', async () => {
    const upstream = await startUpstream('pid');
    const files = setup({ upstreams: { web: { peers: [upstream.address] } } });
    const dead = spawnSync('true').pid;
    writeFileSync(files.pidFile, `${dead}\n`);
    const first = spawnEdgelb(['-d', '-c', files.configFile]);
    assert.equal(await within('the launcher', first.exited), 0, first.messages.join('\n'));
    assert.match(first.messages.join('\n'), /names a process that is gone/);
    const pid = pidIn(files.pidFile)!;
    daemons.push(pid);
    assert.notEqual(pid, dead);

    const second = spawnEdgelb(['-d', '-c', files.configFile]);
    assert.equal(await within('the second launcher', second.exited), 1);
    assert.match(second.messages.join('\n'), new RegExp(`already running \\(pid ${pid}`));
    assert.ok(isRunning(pid), 'the first instance still runs');
    process.kill(pid, 'SIGTERM');
    await waitFor('the daemon to exit', () => !isRunning(pid));
  });
  it('takes daemon: true in the config as -d', async () => {
    const upstream = await startUpstream('config-daemon');
    const files = setup({ daemon: true, upstreams: { web: { peers: [upstream.address] } } });
    const launcher = spawnEdgelb(['-c', files.configFile]);
    assert.equal(await within('the launcher', launcher.exited), 0, launcher.messages.join('\n'));
    const pid = pidIn(files.pidFile)!;
    daemons.push(pid);
    assert.ok(isRunning(pid) && pid !== launcher.process.pid, 'a background process serves');
    process.kill(pid, 'SIGTERM');
    await waitFor('the daemon to exit', () => !isRunning(pid));
    assert.equal(existsSync(files.pidFile), false);
  });
});

describe('workers (threads)', () => {
  it('replaces a killed worker, with a log line, and keeps serving', async () => {
    const upstream = await startUpstream('workers');
    const files = setup({ threads: 2, upstreams: { web: { peers: [upstream.address] } } });
    const lb = spawnEdgelb(['-c', files.configFile]);
    const { url, workers } = await serving(lb);
    assert.equal(workers.length, 2);
    process.kill(workers[0]!, 'SIGKILL');
    const exited = await waitFor('the crash to be logged', () => lb.logs.find((l) => l.msg === 'worker exited; starting a replacement'));
    assert.equal(exited.worker, workers[0]);
    const replaced = await waitFor('the replacement', () => lb.logs.find((l) => l.msg === 'replacement worker serving'));
    assert.equal((replaced.worker as number[]).length, 2);
    assert.ok(!(replaced.worker as number[]).includes(workers[0]!));
    for (let i = 0; i < 4; i++) assert.equal((await request(url, { dispatcher: client })).statusCode, 200);
    lb.process.kill('SIGTERM');
    assert.equal(await within('exit', lb.exited), 0);
  });
});

describe('configuration reload (SIGHUP)', () => {
  it('keeps tunnels open through a reload while new ones reach the new peers', async () => {
    const [before, afterwards] = await Promise.all([startWsUpstream('ws-before'), startWsUpstream('ws-after')]);
    const files = setup({ upstreams: { web: { peers: [before.address] } } });
    const lb = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(lb);
    const wsUrl = `${url.replace('http', 'ws')}/tunnel`;
    const kept = await openEcho(wsUrl);
    assert.equal(await kept.echo('who'), 'ws-before');
    files.write({ upstreams: { web: { peers: [afterwards.address] } } });
    lb.process.kill('SIGHUP');
    const oldWorker = lb.logs.find((l) => l.msg === 'worker serving')!.pid;
    await waitFor('the new generation to serve', () => lb.logs.some((l) => l.msg === 'worker serving' && JSON.stringify(l.pools).includes(afterwards.address)), { timeoutMs: 15_000 });
    await waitFor('the old worker to stop accepting', () => lb.logs.some((l) => l.msg === 'worker draining: no new connections' && l.pid === oldWorker), { timeoutMs: 15_000 });
    const fresh = await openEcho(wsUrl);
    assert.equal(await fresh.echo('who'), 'ws-after', 'a new tunnel goes to the reloaded peers');
    assert.equal(await kept.echo('who'), 'ws-before', 'the tunnel from before the reload still works');
    assert.ok(!lb.logs.some((l) => l.msg === 'configuration reloaded'), 'the old generation waits for its tunnel');
    kept.ws.close();
    await waitFor('the old generation to finish once its tunnel ended', () => lb.logs.some((l) => l.msg === 'configuration reloaded'), { timeoutMs: 15_000 });
    fresh.ws.close();
    lb.process.kill('SIGTERM');
    assert.equal(await within('edgelb to stop', lb.exited), 0);
  });

  it('moves to the new peers under load without a failed request, and keeps running on a broken file', async () => {
    const [before, afterwards] = await Promise.all([startUpstream('before'), startUpstream('after')]);
    const files = setup({ threads: 2, upstreams: { web: { peers: [before.address] } } });
    const lb = spawnEdgelb(['-c', files.configFile]);
    const { url } = await serving(lb);

    // Bounded: the load ends by itself after 20 s; it is stopped once the new generation has
    // answered a good number of requests on its own.
    const load = runLoad(url, { clients: 16, durationMs: 20_000 });
    await waitFor('the load to run', () => load.completed() > 100);
    files.write({ threads: 2, upstreams: { web: { peers: [afterwards.address] } } });
    lb.process.kill('SIGHUP');
    await waitFor('the reload', () => lb.logs.some((l) => l.msg === 'configuration reloaded'), { timeoutMs: 15_000 });
    const reloadedAt = load.completed();
    await waitFor('requests after the reload', () => load.completed() > reloadedAt + 200, { timeoutMs: 10_000 });
    load.stop();
    const result = await load.done;
    assert.deepEqual(result.failures, {});
    assert.ok((result.upstreams.before ?? 0) > 0 && (result.upstreams.after ?? 0) > 0, JSON.stringify(result.upstreams));
    const res = await request(url, { dispatcher: client });
    await res.body.text();
    assert.equal(res.headers['x-upstream'], 'after');

    writeFileSync(files.configFile, 'upstreams: { web: { peers: [] } }\n');
    lb.process.kill('SIGHUP');
    const rejected = await waitFor('the broken file to be reported', () => lb.logs.find((l) => l.msg.startsWith('the configuration file is invalid')));
    assert.deepEqual(rejected.problems, ['upstreams.web.peers: a pool needs at least one peer']);
    const still = await request(url, { dispatcher: client });
    await still.body.text();
    assert.equal(still.headers['x-upstream'], 'after');
    lb.process.kill('SIGTERM');
    assert.equal(await within('exit', lb.exited), 0);
  });
});
