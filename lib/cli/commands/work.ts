/**
 * `gearman-ts work TASK... -- COMMAND ARGS`: a worker that runs a command per job.
 *
 * @module
 * @internal
 */
import { GearmanWorker, type GearmanJob } from '../../index.js';
import { EXIT, UsageError, numberOption, parse, serverList } from '../args.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { describeError, write, type Io } from '../output.js';
import { runCommand, runningChildren } from '../run-command.js';

const OPTIONS = {
  concurrency: { type: 'string', short: 'c' },
  'client-id': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export const work: Command = {
  name: 'work',
  summary: 'serve tasks by running a command per job',
  help: `Usage: gearman-ts work TASK [TASK...] [options] -- COMMAND [ARGS...]

Registers each TASK and, for every job, runs COMMAND with the job's data on its stdin. What it
writes to stdout is the job's result; each line it writes to stderr is sent as a warning; a
non-zero exit (or a signal) fails the job with the end of its stderr as the exception. The job's
task, handle and unique are in $GEARMAN_TASK, $GEARMAN_HANDLE and $GEARMAN_UNIQUE. Payloads of
any size are streamed (no pipe deadlock).

SIGTERM or SIGINT stops gracefully: no new job is taken and the running ones finish and answer.
A second signal stops at once (the server re-queues what was running).

Options:
  -c, --concurrency N    jobs run at once (default 1)
      --client-id ID     the id the server shows for this worker in "workers"
  -v, --verbose          a line on stderr per job
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
    const concurrency = numberOption('work', 'concurrency', values.concurrency, { min: 1, max: 10_000, integer: true }) ?? 1;
    return serve({ servers, tasks: positionals, command: commandLine[0]!, args: commandLine.slice(1), concurrency, clientId: values['client-id'], verbose: values.verbose ?? false }, io);
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
}

/** A worker that stops taking jobs when asked, finishing the one it runs. */
class CommandWorker extends GearmanWorker {
  stopRequested = false;
  override afterPoll(): boolean {
    return !this.stopRequested;
  }
  override afterJob(): boolean {
    return !this.stopRequested;
  }
}

async function serve(o: ServeOptions, io: Io): Promise<number> {
  const log = (line: string) => void io.stderr.write(`gearman-ts work: ${line}\n`);
  const handle = async (worker: GearmanWorker, job: GearmanJob): Promise<Buffer> => {
    const started = Date.now();
    const warnings: Promise<void>[] = [];
    const env = { ...io.env, GEARMAN_TASK: job.task, GEARMAN_HANDLE: job.handle ?? '', GEARMAN_UNIQUE: job.unique ?? '' };
    const data = Buffer.isBuffer(job.data) ? job.data : Buffer.from(String(job.data ?? ''));
    const outcome = await runCommand(o.command, o.args, data, env, (line) => {
      warnings.push(worker.sendJobWarning(job, line).catch(() => {}));
    });
    await Promise.all(warnings);
    const ms = Date.now() - started;
    if (outcome.spawnError === undefined && outcome.code === 0) {
      if (o.verbose) log(`${job.handle} ${job.task}: done in ${ms} ms, ${outcome.stdout.length} byte(s)`);
      return outcome.stdout;
    }
    const how = outcome.spawnError ? `cannot run ${o.command}: ${outcome.spawnError.message}` : outcome.signal ? `killed by ${outcome.signal}` : `exit code ${outcome.code}`;
    const reason = outcome.stderrTail !== '' ? outcome.stderrTail : how;
    if (o.verbose) log(`${job.handle} ${job.task}: failed (${how}) in ${ms} ms`);
    // WORK_EXCEPTION carries the reason to clients that asked for exceptions (then WORK_FAIL).
    await worker.sendJobException(job, reason);
    throw new Error(`${o.command}: ${how}`);
  };

  // One worker per slot, each running one job at a time (python-gearman's worker model).
  const workers: CommandWorker[] = [];
  for (let i = 0; i < o.concurrency; i++) {
    const worker = new CommandWorker(o.servers, { logger: quietLogger(o.verbose, log) });
    if (o.clientId !== undefined) worker.setClientId(o.clientId);
    for (const task of o.tasks) worker.registerTask(task, handle);
    workers.push(worker);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log(`${signal}: finishing running jobs (send again to stop at once)`);
      for (const w of workers) w.stopRequested = true;
    } else {
      log(`${signal}: stopping now`);
      for (const child of runningChildren) child.kill('SIGTERM');
      for (const w of workers) w.shutdown();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (o.verbose) log(`serving ${o.tasks.join(', ')} on ${o.servers.join(', ')} with ${o.concurrency} slot(s)`);
  try {
    const results = await Promise.allSettled(workers.map((w) => w.work({ pollTimeout: 1 })));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    return signals > 1 ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The library's warnings on stderr (a lost server, a failed job) at --verbose; errors always. */
function quietLogger(verbose: boolean, log: (line: string) => void) {
  const none = () => {};
  return {
    debug: none,
    info: none,
    warn: (...a: unknown[]) => log(a.map((x) => (x instanceof Error ? describeError(x) : String(x))).join(" ")),
    error: (...a: unknown[]) => log(a.map((x) => (x instanceof Error ? describeError(x) : String(x))).join(' ')),
  };
}
