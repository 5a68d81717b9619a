// The command-line tool's admin commands, help and error handling, against gearmand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { sharedHosts, taskName, until } from '../helpers/env.js';
import { freePort, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { runCli } from '../cli/run-cli.js';

const shared = () => sharedHosts()[0]!;

describe('gearman-ts: help, arguments, servers', { timeout: 90_000 }, () => {
  it('prints the tool help with every command, and a help per command', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['submit', 'work', 'status', 'workers', 'jobs', 'version', 'ping', 'maxqueue', 'cancel', 'top', 'server']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      const own = await runCli([name, '--help']);
      expect(own.code, name).toBe(0);
      expect(own.stdout, name).toMatch(new RegExp(`^Usage: gearman-ts ${name}`));
    }
  });

  it('without a command shows the help on stderr and exits 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Usage: gearman-ts COMMAND/);
  });

  it('an unknown command exits 2 and suggests a close one', async () => {
    const run = await runCli(['stat']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "stat" (did you mean status?)');
  });

  it('an unknown option exits 2 naming it', async () => {
    const run = await runCli(['status', '--bogus', '--servers', shared()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--bogus'");
    expect(run.stderr).toContain('gearman-ts status --help');
  });

  it('a malformed server exits 2 before connecting; an unreachable one exits 3', async () => {
    const bad = await runCli(['status', '--servers', 'bad host:1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad server "bad host:1" in --servers');
    const badEnv = await runCli(['ping'], { env: { GEARMAN_SERVERS: '127.0.0.1:99999' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('in GEARMAN_SERVERS');
    const port = await freePort();
    const dead = await runCli(['ping', '--servers', `127.0.0.1:${port}`]);
    expect(dead.code).toBe(3);
    expect(dead.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('reads the servers from GEARMAN_SERVERS', async () => {
    const run = await runCli(['version', '--json'], { env: { GEARMAN_SERVERS: shared() } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([{ server: shared(), version: expect.stringMatching(/^1\.1\./) }]);
  });

  it('prints its own version with --version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^gearman-ts \d+\.\d+\.\d+/);
  });
});

describe('gearman-ts admin commands', { timeout: 90_000 }, () => {
  let second: Gearmand;
  const task = taskName('cli-admin');
  const client = new GearmanClient(sharedHosts());
  const worker = new GearmanWorker(sharedHosts());

  beforeAll(async () => {
    second = await startGearmand({ threads: 1 });
    worker.setClientId('cli-admin-worker');
    worker.registerTask(`${task}-w`, () => 'x');
    void worker.work({ pollTimeout: 1 });
    await client.submitMultipleJobs([1, 2, 3].map((i) => ({ task, data: `d${i}` })), { background: true });
    const admin = await import('gearman-ts').then((m) => new m.GearmanAdminClient(sharedHosts()));
    await until(async () => (await admin.getWorkers()).some((w) => w.clientId === 'cli-admin-worker'));
    admin.shutdown();
  });

  afterAll(async () => {
    worker.shutdown();
    client.shutdown();
    await second?.stop();
  });

  it('status: an aligned table, --json parsed, a task filter', async () => {
    const table = await runCli(['status', '--servers', shared()]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TASK +QUEUED +RUNNING +WORKERS$/);
    const row = lines.find((l) => l.startsWith(task + ' '));
    expect(row).toMatch(new RegExp(`^${task} +3 +0 +0$`));
    // Columns line up: every row's last column ends where the header's does.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    const json = await runCli(['status', '--json', '--servers', shared(), task]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ server: shared(), task, queued: 3, running: 0, workers: 0 }]);
  });

  it('status across two servers: a SERVER column and one row per server', async () => {
    const other = new GearmanClient([second.host]);
    await other.submitJob(task, 'on-second', { background: true });
    other.shutdown();
    const run = await runCli(['status', '--servers', `${shared()},${second.host}`, task]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERVER +TASK +QUEUED +RUNNING +WORKERS$/);
    expect(lines).toHaveLength(3);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${shared()} +${task} +3 +0 +0$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${second.host} +${task} +1 +0 +0$`)));
    const json = JSON.parse((await runCli(['status', '--json', '--servers', `${shared()},${second.host}`, task])).stdout);
    expect(json).toHaveLength(2);
    expect(json.map((r: { queued: number }) => r.queued).sort()).toEqual([1, 3]);
  });

  it('a dead server among live ones: rows of the live one, an error line, exit 3', async () => {
    const port = await freePort();
    const run = await runCli(['status', '--json', '--servers', `${second.host},127.0.0.1:${port}`, task]);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout)).toEqual([{ server: second.host, task, queued: 1, running: 0, workers: 0 }]);
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('workers: the worker with its client id and task', async () => {
    const run = await runCli(['workers', '--json', '--servers', shared()]);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<{ clientId: string; tasks: string[]; ip: string }>;
    expect(rows).toContainEqual(expect.objectContaining({ clientId: 'cli-admin-worker', tasks: [`${task}-w`], ip: '127.0.0.1' }));
    const table = await runCli(['workers', '--servers', shared()]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ *FD +ADDRESS +CLIENT-ID +TASKS$/);
    expect(table.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1 +cli-admin-worker +${task}-w`));
  });

  it('jobs and cancel: a queued job listed by handle, cancelled, then unknown', async () => {
    const request = await client.submitJob(`${task}-c`, 'to cancel', { background: true });
    const handle = request.job.handle!;
    const jobs = await runCli(['jobs', '--json', '--servers', shared()]);
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout)).toContainEqual({ server: shared(), handle, retries: 0, ignored: 0, stored: 1 });
    const table = await runCli(['jobs', '--servers', shared()]);
    expect(table.stdout).toMatch(new RegExp(`^${handle} +0 +0 +1$`, 'm'));
    // Two servers: the one that knows the handle answers OK, the other UNKNOWN_JOB, exit 0.
    const cancel = await runCli(['cancel', '--json', '--servers', `${shared()},${second.host}`, handle]);
    expect(cancel.code).toBe(0);
    const answers = JSON.parse(cancel.stdout) as Array<{ server: string; answer: string }>;
    expect(answers.find((a) => a.server === shared())?.answer).toBe('OK');
    expect(answers.find((a) => a.server === second.host)?.answer).toMatch(/UNKNOWN_JOB/);
    const unknown = await runCli(['cancel', '--servers', second.host, handle]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no server knows job ${handle}`);
    const missing = await runCli(['cancel', '--servers', second.host]);
    expect(missing.code).toBe(2);
  });

  it('maxqueue: sets the limit (then a submission is refused); bad N exits 2', async () => {
    const limited = `${task}-max`;
    // gearmand limits functions it knows: the first job makes it known.
    const first = await runCli(['submit', '--background', limited, 'one', '--servers', second.host]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^H:\S+\n$/);
    const run = await runCli(['maxqueue', limited, '1', '--json', '--servers', second.host]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([{ server: second.host, task: limited, size: 1, answer: 'OK' }]);
    const refused = await runCli(['submit', '--background', limited, 'two', '--servers', second.host]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/queue is full/i);
    expect((await runCli(['maxqueue', limited, 'many', '--servers', second.host])).code).toBe(2);
    expect((await runCli(['maxqueue', limited, '--servers', second.host])).code).toBe(2);
  });

  it('version and ping: one row per server', async () => {
    const version = await runCli(['version', '--servers', `${shared()},${second.host}`]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^SERVER +VERSION\n/);
    expect(version.stdout.trimEnd().split('\n')).toHaveLength(3);
    const ping = await runCli(['ping', '--json', '--servers', `${shared()},${second.host}`]);
    expect(ping.code).toBe(0);
    const rows = JSON.parse(ping.stdout) as Array<{ server: string; ms: number }>;
    expect(rows.map((r) => r.server).sort()).toEqual([shared(), second.host].sort());
    for (const r of rows) expect(r.ms).toBeGreaterThan(0);
  });
});
