// Perl's Gearman::Client and PHP's GearmanClient (libgearman underneath) submit jobs to the
// embedded server and get our worker's results (needs libgearman-client-perl and php-gearman).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GearmanServer } from '../../lib/server/index.js';
import { GearmanWorker } from '../../lib/index.js';

const run = promisify(execFile);

let server: GearmanServer;
let worker: GearmanWorker;
beforeAll(async () => {
  server = await GearmanServer.start({ port: 0 });
  worker = new GearmanWorker(server.hostList);
  worker.registerTask('reverse', (_w, job) => Buffer.from(job.data).reverse());
  worker.registerTask('progress', async (w, job) => {
    await w.sendJobStatus(job, 1, 2);
    return 'done:' + job.data.toString();
  });
  void worker.work({ pollTimeout: 0.05 }).catch(() => undefined);
});
afterAll(async () => {
  worker.shutdown();
  await server.close();
});

describe('Perl Gearman::Client', () => {
  it('do_task gets the result; dispatch_background gets a handle the server lists', async () => {
    const script = `
      use Gearman::Client;
      my $c = Gearman::Client->new;
      $c->job_servers('127.0.0.1:${server.port}');
      my $r = $c->do_task('reverse', 'perl speaks');
      print "result=", $$r, "\\n";
      my $h = $c->dispatch_background('queued-for-later', 'x');
      print "handle=", $h, "\\n";
    `;
    const { stdout } = await run('perl', ['-e', script], { timeout: 15_000, encoding: 'utf8' });
    expect(stdout).toMatch(/^result=skaeps lrep\nhandle=/);
    const handle = /handle=(.*)/.exec(stdout)![1]!;
    // Gearman::Client prefixes the handle with the server address.
    expect([...server.jobs.keys()].some((h) => handle.endsWith(h))).toBe(true);
  });
});

describe('PHP GearmanClient', () => {
  it('doNormal gets the result, doBackground and jobStatus see the queued job', async () => {
    const script = `
      $c = new GearmanClient();
      $c->addServer('127.0.0.1', ${server.port});
      echo 'result=', $c->doNormal('progress', 'php'), "\\n";
      $h = $c->doBackground('php-later', 'x');
      echo 'handle=', $h, "\\n";
      echo 'status=', json_encode($c->jobStatus($h)), "\\n";
    `;
    const { stdout } = await run('php', ['-r', script], { timeout: 15_000, encoding: 'utf8' });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('result=done:php');
    const handle = lines[1]!.slice('handle='.length);
    expect(server.jobs.has(handle)).toBe(true);
    expect(lines[2]).toBe('status=[true,false,0,0]');
  });
});
