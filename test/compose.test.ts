import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseCli } from '../src/server/cli-args.ts';
import { loadConfigFile } from '../src/server/config-file.ts';
import { registrationFrom } from '../src/server/register-command.ts';
import { runEdgelb } from './support/processes.ts';

interface Service {
  command?: string[];
  image?: string;
  build?: string;
  pull_policy?: string;
  healthcheck?: { disable?: boolean };
  environment?: Record<string, string>;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };

  it('runs redis, one prober, two edges, three configured demo upstreams and a registered one with its sidecar', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['alpha', 'beta', 'delta', 'delta-register', 'edge-1', 'edge-2', 'gamma', 'prober', 'redis']);
    assert.match(compose.services.redis!.image ?? '', /^redis:/);
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
      const command = compose.services[name]!.command!;
      assert.deepEqual(command.slice(0, 2), ['node', 'examples/upstream.ts']);
      assert.ok(existsSync(command[1]!));
    }
  });

  it('builds one image once, which runs the compiled dist/ and checks its own health', () => {
    const services = Object.entries(compose.services).filter(([name]) => name !== 'redis');
    assert.deepEqual(services.filter(([, service]) => service.build !== undefined).map(([name]) => name), ['prober'], 'one build');
    for (const [name, service] of services) {
      assert.equal(service.image, 'edgelb:local', name);
      assert.equal(service.pull_policy, 'never', `${name} uses the image built here`);
    }
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    assert.match(dockerfile, /RUN npx tsc -p tsconfig\.build\.json/);
    assert.match(dockerfile, /COPY --from=build \/app\/dist \.\/dist/);
    assert.doesNotMatch(dockerfile.split('FROM ').at(-1)!, /COPY src/, 'the image holds no TypeScript sources of edgelb');
    assert.match(dockerfile, /^HEALTHCHECK /m);
    // Roles that listen on no port have the check off; the upstreams name theirs.
    for (const name of ['prober', 'delta-register']) assert.equal(compose.services[name]!.healthcheck?.disable, true, name);
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
      assert.equal(compose.services[name]!.environment?.EDGELB_HEALTHCHECK_PORT, compose.services[name]!.command!.at(-3), name);
    }
  });

  it('starts edgelb with the commands the tests run, on a config that is valid', async () => {
    const commands = ['prober', 'edge-1', 'edge-2'].map((name) => compose.services[name]!.command!);
    assert.deepEqual(commands.map((command) => command.slice(0, -1)), [
      ['node', 'bin/edgelb.js', 'probe', '-c'],
      ['node', 'bin/edgelb.js', '-c'],
      ['node', 'bin/edgelb.js', '-c'],
    ]);
    const register = compose.services['delta-register']!.command!;
    assert.deepEqual(register.slice(0, 3), ['node', 'bin/edgelb.js', 'register']);
    // The sidecar's own checks (its pool takes registered peers, its address parses) without starting it.
    const options = parseCli(register.slice(2));
    const registration = registrationFrom(await loadConfigFile(options.conf!), options);
    assert.deepEqual('error' in registration ? registration : registration.spec, { host: 'delta', port: 8084, weight: 1, backup: false });
    for (const file of new Set(commands.map((command) => command.at(-1)!))) {
      const { code, stderr } = await runEdgelb(['-t', '-c', file]);
      assert.equal(code, 0, stderr);
      assert.match(readFileSync(file, 'utf8'), /^redis: redis:\/\/redis:6379\/0$/m);
    }
  });
});
