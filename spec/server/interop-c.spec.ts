// gearmand's own C tools against the embedded server: the `gearman` client and worker, and
// `gearadmin --status --workers --show-jobs --getpid --server-version` (needs gearman-tools).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { GearmanServer } from '../../lib/server/index.js';
import { GearmanClient, GearmanWorker } from '../../lib/index.js';
import { req } from '../helpers/packets.js';
import { RawPeer } from './raw-peer.js';

const run = promisify(execFile);

let server: GearmanServer;
const cleanups: Array<() => unknown> = [];
beforeEach(async () => {
  server = await GearmanServer.start({ port: 0 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await server.close();
});

function gearman(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('gearman', ['-h', '127.0.0.1', '-p', String(server.port), ...args], { timeout: 15_000, encoding: 'utf8' });
}

function gearadmin(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('gearadmin', ['-h', '127.0.0.1', '-p', String(server.port), ...args], { timeout: 15_000, encoding: 'utf8' });
}

async function untilStats(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(server.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the C gearman tool', () => {
  it('gearman (client) submits to our worker and prints the result', async () => {
    const worker = new GearmanWorker(server.hostList);
    cleanups.push(() => worker.shutdown());
    worker.registerTask('reverse', (_w, job) => Buffer.from(job.data).reverse());
    void worker.work({ pollTimeout: 0.05 }).catch(() => undefined);
    const { stdout } = await gearman('-f', 'reverse', 'hello from C');
    expect(stdout).toBe('C morf olleh');
  });

  it('gearman -b (background) and -I (high) are queued with the right priority', async () => {
    await gearman('-b', '-f', 'c-bg', 'one');
    await gearman('-b', '-I', '-f', 'c-bg', 'two');
    const p = await RawPeer.connect(server.port);
    expect(await p.admin('prioritystatus')).toEqual(['text "c-bg\\t1\\t1\\t0\\t0\\n"', 'text ".\\n"']);
    p.close();
  });

  it('gearman -w -f task -- cmd runs the command for our client\'s job', async () => {
    const child: ChildProcess = spawn('gearman', ['-h', '127.0.0.1', '-p', String(server.port), '-w', '-c', '2', '-f', 'wc', '--', 'wc', '-c'], { stdio: 'ignore' });
    cleanups.push(() => child.kill());
    await untilStats(() => (server.stats().tasks.wc?.workers ?? 0) === 1);
    const client = new GearmanClient(server.hostList);
    cleanups.push(() => client.shutdown());
    const [a, b] = await client.submitMultipleJobs([{ task: 'wc', data: '12345' }, { task: 'wc', data: 'abc' }], { pollTimeout: 15 });
    expect(String(a!.result).trim()).toBe('5');
    expect(String(b!.result).trim()).toBe('3');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(child.exitCode).toBe(0);
  });
});

describe('gearadmin', () => {
  it('--status, --workers, --show-jobs, --getpid, --server-version read the embedded server', async () => {
    const w = await RawPeer.connect(server.port);
    w.send(req('SET_CLIENT_ID', 'c-worker'), req('CAN_DO', 'img'), req('CAN_DO', 'mail'), req('ECHO_REQ', 'x'));
    await w.more(1);
    const c = await RawPeer.connect(server.port);
    c.send(req('SUBMIT_JOB_BG', 'img', 'u1', 'a'), req('SUBMIT_JOB', 'img', '', 'b'));
    const handles = (await c.more(2)).map((r) => JSON.parse(r.split(' ')[1]!) as string);

    const status = (await gearadmin('--status')).stdout;
    expect(status.split('\n').filter(Boolean).sort()).toEqual(['.', 'img\t2\t0\t1', 'mail\t0\t0\t1']);

    const workers = (await gearadmin('--workers')).stdout.split('\n');
    expect(workers).toContain(`${workers.find((l) => l.includes('c-worker'))!.split(' ')[0]} 127.0.0.1 c-worker : mail img`);
    expect(workers[workers.length - 2]).toBe('.');

    const jobs = (await gearadmin('--show-jobs')).stdout.split('\n').filter(Boolean);
    expect(jobs.sort()).toEqual([`${handles[0]}\t0\t0\t1`, `${handles[1]}\t0\t0\t0`, '.'].sort());

    expect((await gearadmin('--getpid')).stdout.trim()).toBe(String(process.pid));
    expect((await gearadmin('--server-version')).stdout.trim()).toBe('1.1.20+gearman-ts');
    expect((await gearadmin('--show-unique-jobs')).stdout.split('\n').filter(Boolean).sort()).toEqual(['.', 'u1']);
    const cancel = await gearadmin('--cancel-job', handles[1]!);
    expect(cancel.stderr).toBe('');
    expect(await c.more(1)).toEqual([`WORK_FAIL "${handles[1]}"`]);
    w.close();
    c.close();
  });
});
