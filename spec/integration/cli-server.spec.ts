// `gearman-ts server`: the embedded server in the foreground, served by `work`, fed by `submit`,
// watched by `status` and `top`; SIGINT and SIGTERM close it and release the port.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';
import { CliProcess, runCli } from '../cli/run-cli.js';

const started: CliProcess[] = [];
function start(args: string[]): CliProcess {
  const p = new CliProcess(args);
  started.push(p);
  return p;
}
afterEach(async () => {
  for (const p of started.splice(0)) await p.stop('SIGKILL');
});

async function startServer(extra: string[] = []): Promise<{ server: CliProcess; host: string }> {
  const server = start(['server', '--port', '0', ...extra]);
  const m = await server.waitFor(/listening on (127\.0\.0\.1:\d+)/);
  return { server, host: m[1]! };
}

describe('gearman-ts server', { timeout: 90_000 }, () => {
  it('serves submit and work; status and top --once see its counters; SIGINT closes it cleanly', async () => {
    const { server, host } = await startServer(['--verbose']);
    const task = taskName('cli-srv');
    start(['work', task, '--servers', host, '--', 'tr', 'a-z', 'A-Z']);
    const ready = async () => JSON.parse((await runCli(['status', '--json', '--servers', host, task])).stdout)[0]?.workers === 1;
    await until(ready, 15_000, 50);
    const run = await runCli(['submit', task, 'embedded', '--servers', host]);
    expect(run).toMatchObject({ code: 0, stdout: 'EMBEDDED' });
    const fail = await runCli(['submit', '--jsonl', '-', '-q', '--servers', host], { input: `{"task":"${task}","data":"a"}\n{"task":"${task}","data":"b"}\n` });
    expect(fail.code).toBe(0);
    const frame = JSON.parse((await runCli(['top', '--once', '--json', '--servers', host])).stdout);
    expect(frame.tasks).toEqual([{ task, queued: 0, running: 0, workers: 1, submitted: 3, completed: 3, failed: 0, exceptions: 0 }]);
    // --verbose logs the connections coming and going.
    await server.waitFor(/INFO gearman server 127\.0\.0\.1:\d+: connection \d+ from 127\.0\.0\.1/);
    await server.waitFor(/INFO gearman server 127\.0\.0\.1:\d+: connection \d+ \(127\.0\.0\.1\) closed/);
    server.child.kill('SIGINT');
    const end = await server.exited;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/SIGINT: closing\n[\s\S]*Z closed\n$/);
    // The port is free again: a new server can listen on it.
    const port = host.split(':')[1]!;
    const again = start(['server', '--port', port]);
    await again.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('a port in use exits 1 with the reason; a bad port exits 2', async () => {
    const { host } = await startServer();
    const busy = await runCli(['server', '--port', host.split(':')[1]!]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    const bad = await runCli(['server', '--port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port must be an integer from 0 to 65535');
    expect((await runCli(['server', '--servers', host])).code).toBe(2);
  });

  it('listens where --host says', async () => {
    const port = await freePort();
    const server = start(['server', '--host', '127.0.0.1', '--port', String(port)]);
    await server.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    const ping = await runCli(['ping', '--json', '--servers', `127.0.0.1:${port}`]);
    expect(ping.code).toBe(0);
  });
});
