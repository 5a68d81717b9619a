/**
 * `gearman-ts work TASK... -- COMMAND ARGS`: a worker that runs a command per job.
 *
 * @module
 * @internal
 */
import { GearmanWorker, type TaskCallback } from '../../index.js';
import { EXIT, UsageError, numberOption, parse, serverList } from '../args.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { describeError, write, type Io } from '../output.js';
import { runCommand, runningChildren } from '../run-command.js';

const OPTIONS = {
  concurrency: { type: 'string', short: 'c' },
  'client-id': { type: 'string' },
  grace: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export const work: Command = {
  name: 'work',
  summary: 'serve tasks by running a command per job',
  help: `Usage: gearman-ts work TASK [TASK...] [options] -- COMMAND [ARGS...]

Registers each TASK and, for every job, runs COMMAND with the job's data on its stdin. What it
writes to stdout is the job's result; each line it writes to stderr is sent as a warning; a
non-zero exit (or a signal) fails the job with the end of its stderr as the exception. The job's
task, handle and unique are in $GEARMAN_TASK, $GEARMAN_HANDLE and $GEARMAN_UNIQUE. A stderr line
"GEARMAN_STATUS N/D" is sent as the job's status (WORK_STATUS) instead. Payloads of any size are
streamed (no pipe deadlock).

SIGTERM or SIGINT stops gracefully: no new job is taken and the running ones finish and answer.
A second signal stops at once (the server re-queues what was running).

Options:
  -c, --concurrency N  jobs run at once (default 1)
      --grace SECS     on SIGTERM, wait at most SECS for running jobs, then abort them
                       (their commands get SIGTERM; the server re-queues them) (default: no limit)
      --client-id ID   the id the server shows for this worker in "workers"
  -v, --verbose        a line on stderr per job
${SERVERS_HELP}`,
  async run(argv, io) {
    const dash = argv.indexOf('--');
    const own = dash === -1 ? argv : argv.slice(0, dash);
    const { values, positionals } = parse('work', own, OPTIONS);
    if (values.help) return write(io.stdout, work.help + '\n').then(() => EXIT.OK);
    const commandLine = dash === -1 ? [] : argv.slice(dash + 1);
    if (positionals.length === 0) throw new UsageError('expected at least one TASK', 'work');
    if (commandLine.length === 0) throw new UsageError('expected -- COMMAND [ARGS...] after the tasks', 'work');
    const servers = serverList(values.servers, io.env);
    const grace = numberOption('work', 'grace', values.grace, { min: 0 });
    const graceMs = grace === undefined ? Infinity : grace * 1000;
    const concurrency = numberOption('work', 'concurrency', values.concurrency, { min: 1, max: 10_000, integer: true }) ?? 1;
    return serve({ servers, tasks: positionals, command: commandLine[0]!, args: commandLine.slice(1), concurrency, clientId: values['client-id'], verbose: values.verbose ?? false, graceMs }, io);
  },
};

interface ServeOptions {
  servers: string[];
  tasks: string[];
  command: string;
  args: string[];
  concurrency: number;
  clientId: string | undefined;
  verbose: boolean;
  graceMs: number;
}

/** A stderr line that reports progress (sent as WORK_STATUS, not as a warning). */
const STATUS_LINE = /^GEARMAN_STATUS (\d+)\/(\d+)$/;

/** The job a task callback gets (a GearmanJob with its abort signal). */
type Job = Parameters<TaskCallback>[1];

async function serve(o: ServeOptions, io: Io): Promise<number> {
  const log = (line: string) => void io.stderr.write(`gearman-ts work: ${line}\n`);
  let aborted = 0;
  const handle = async (worker: GearmanWorker, job: Job): Promise<Buffer> => {
    const started = Date.now();
    job.signal.addEventListener('abort', () => aborted++, { once: true });
    const warnings: Promise<void>[] = [];
    const env = { ...io.env, GEARMAN_TASK: job.task, GEARMAN_HANDLE: job.handle ?? '', GEARMAN_UNIQUE: job.unique ?? '' };
    const data = Buffer.isBuffer(job.data) ? job.data : Buffer.from(String(job.data ?? ''));
    const outcome = await runCommand(o.command, o.args, data, env, job.signal, (line) => {
      const status = STATUS_LINE.exec(line);
      const sent = status ? worker.sendJobStatus(job, Number(status[1]), Number(status[2])) : worker.sendJobWarning(job, line);
      warnings.push(sent.catch(() => {}));
    });
    await Promise.all(warnings);
    const ms = Date.now() - started;
    if (outcome.spawnError === undefined && outcome.code === 0) {
      if (o.verbose) log(`${job.handle} ${job.task}: done in ${ms} ms, ${outcome.stdout.length} byte(s)`);
      return outcome.stdout;
    }
    const how = outcome.spawnError ? `cannot run ${o.command}: ${outcome.spawnError.message}` : outcome.signal ? `killed by ${outcome.signal}` : `exit code ${outcome.code}`;
    if (o.verbose) log(`${job.handle} ${job.task}: failed (${how}) in ${ms} ms`);
    // The worker sends the message as WORK_EXCEPTION (to clients that asked for exceptions; the
    // server turns it into WORK_FAIL for the others): the end of stderr says best what went wrong.
    throw new Error(outcome.stderrTail !== '' ? outcome.stderrTail : how);
  };

  const worker = new GearmanWorker(o.servers, { concurrency: o.concurrency, logger: cliLogger(o.verbose, log) });
  if (o.clientId !== undefined) worker.setClientId(o.clientId);
  for (const task of o.tasks) worker.registerTask(task, handle);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log(`${signal}: finishing running jobs (send again to stop at once)`);
      void worker.stop({ timeoutMs: o.graceMs });
    } else {
      log(`${signal}: stopping now`);
      for (const child of runningChildren) child.kill('SIGTERM');
      worker.shutdown();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (o.verbose) log(`serving ${o.tasks.join(', ')} on ${o.servers.join(', ')} with ${o.concurrency} slot(s)`);
  try {
    await worker.work();
    if (aborted > 0) log(`${aborted} running job(s) were aborted; the server re-queues them`);
    return signals > 1 ? EXIT.INTERRUPTED : aborted > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The library's warnings on stderr (a lost server, a failed job) at --verbose; errors always. */
function cliLogger(verbose: boolean, log: (line: string) => void) {
  const none = () => {};
  return {
    debug: none,
    info: none,
    warn: (...a: unknown[]) => log(a.map((x) => (x instanceof Error ? describeError(x) : String(x))).join(" ")),
    error: (...a: unknown[]) => log(a.map((x) => (x instanceof Error ? describeError(x) : String(x))).join(' ')),
  };
}
