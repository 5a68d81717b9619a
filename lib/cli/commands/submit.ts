/**
 * `gearman-ts submit TASK [DATA]`: one job, its updates on stderr as they arrive and its result on
 * stdout; or a batch with `--jsonl` (see submit-batch.ts).
 *
 * @module
 * @internal
 */
import { GearmanClient, GearmanJob, GearmanJobRequest, JOB_COMPLETE, PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NONE, type Priority } from '../../index.js';
import { EXIT, UsageError, numberOption, parse, serverList } from '../args.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { describeError, payloadText, readAll, write, type Io } from '../output.js';
import { runBatch } from './submit-batch.js';

const OPTIONS = {
  background: { type: 'boolean', short: 'b' },
  priority: { type: 'string', short: 'p' },
  unique: { type: 'string', short: 'u' },
  timeout: { type: 'string', short: 't' },
  when: { type: 'string' },
  jsonl: { type: 'string' },
  window: { type: 'string' },
  'retry-for': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

/** `--priority` words to the library's constants. @internal */
export function parsePriority(value: string | undefined | null, where = '--priority'): Priority {
  if (value === undefined || value === null) return PRIORITY_NONE;
  switch (value.toLowerCase()) {
    case 'high':
      return PRIORITY_HIGH;
    case 'low':
      return PRIORITY_LOW;
    case 'normal':
    case 'none':
    case '':
      return PRIORITY_NONE;
    default:
      throw new UsageError(`${where} must be high, normal or low, got ${JSON.stringify(value)}`, 'submit');
  }
}

/** `--when`: epoch seconds, `+SECONDS` from now, or an ISO date. @internal */
export function parseWhen(value: string, now = Date.now()): Date {
  const relative = /^\+(\d+(\.\d+)?)$/.exec(value);
  if (relative) return new Date(now + Number(relative[1]) * 1000);
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--when must be epoch seconds, +SECONDS or an ISO date, got ${JSON.stringify(value)}`, 'submit');
  return date;
}

export const submit: Command = {
  name: 'submit',
  summary: 'submit a job (or a batch from JSON lines) and print the result',
  help: `Usage: gearman-ts submit TASK [DATA] [options]
       gearman-ts submit --jsonl FILE|- [TASK] [options]

Submits one job to TASK with DATA (or, without DATA, everything read from stdin), waits for it,
and writes its result to stdout. The worker's data, warnings and status are written to stderr as
they arrive. A job that fails, raises an exception or times out exits with code 1.

Options:
  -b, --background     do not wait: print the job handle once the server accepted it
  -p, --priority LEVEL high, normal (default) or low
  -u, --unique KEY     the job's unique key (same task and key coalesce into one job)
  -t, --timeout SECS   give up waiting after SECS seconds (exit code 1)
      --when TIME      run at TIME (epoch seconds, +SECONDS, or an ISO date): a background
                       job the server holds until then (SUBMIT_JOB_EPOCH)

Batch (--jsonl):
      --jsonl FILE|-   one job per line: {"task","data","unique","priority"} ("dataBase64"
                       for bytes; TASK is the default task). One JSON result per line on
                       stdout, in input order: {"line","task","unique","handle","state",
                       "result"|"resultBase64","exception","error"}
      --window N       jobs in flight at once (default 1000)
      --retry-for SECS keep re-submitting jobs lost with a server for SECS (default 60)
  -q, --quiet          no progress (a bar on a terminal, else a line every 2 s, on stderr)
${SERVERS_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parse('submit', argv, OPTIONS);
    if (values.help) return write(io.stdout, submit.help + '\n').then(() => EXIT.OK);
    const servers = serverList(values.servers, io.env);
    const pollTimeout = numberOption('submit', 'timeout', values.timeout, { min: 0 }) ?? null;
    const priority = parsePriority(values.priority);
    if (values.jsonl !== undefined) {
      if (positionals.length > 1) throw new UsageError('with --jsonl, only a default TASK may follow', 'submit');
      if (values.unique !== undefined || values.when !== undefined) throw new UsageError('--unique and --when are per job: put them in the JSON lines (unique) or submit one by one', 'submit');
      return runBatch(
        {
          servers,
          source: values.jsonl,
          defaultTask: positionals[0],
          defaultPriority: values.priority === undefined ? undefined : priority,
          background: values.background ?? false,
          pollTimeout,
          window: numberOption('submit', 'window', values.window, { min: 1, integer: true }) ?? 1000,
          retryForSeconds: numberOption('submit', 'retry-for', values['retry-for'], { min: 0 }) ?? 60,
          quiet: values.quiet ?? false,
        },
        io,
      );
    }
    if (positionals.length === 0) throw new UsageError('expected a TASK', 'submit');
    if (positionals.length > 2) throw new UsageError(`expected TASK [DATA], got ${positionals.length} arguments (quote DATA with spaces)`, 'submit');
    const [task, dataArg] = positionals as [string, string | undefined];
    if (dataArg === undefined && io.stdin.isTTY) await write(io.stderr, 'gearman-ts submit: reading the job data from stdin (end it with Ctrl-D)\n');
    const data: string | Buffer = dataArg ?? (await readAll(io.stdin));
    const when = values.when !== undefined ? parseWhen(values.when) : undefined;
    if (when !== undefined && values.priority !== undefined && priority !== PRIORITY_NONE) {
      throw new UsageError('--when and --priority cannot be combined (SUBMIT_JOB_EPOCH has no priority)', 'submit');
    }
    const background = (values.background ?? false) || when !== undefined;
    return submitOne({ servers, task, data, unique: values.unique, priority, background, when, pollTimeout }, io);
  },
};

interface OneJob {
  servers: string[];
  task: string;
  data: string | Buffer;
  unique: string | undefined;
  priority: Priority;
  background: boolean;
  when: Date | undefined;
  pollTimeout: number | null;
}

async function submitOne(job: OneJob, io: Io): Promise<number> {
  const client = new GearmanClient(job.servers);
  try {
    let request: GearmanJobRequest;
    if (job.when !== undefined) {
      // Scheduled jobs go through submitJob's `when` (SUBMIT_JOB_EPOCH, background only).
      request = await client.submitJob(job.task, job.data, {
        background: true,
        unique: job.unique,
        priority: job.priority,
        pollTimeout: job.pollTimeout,
        when: job.when,
      } as Parameters<GearmanClient['submitJob']>[2]);
    } else {
      request = new GearmanJobRequest(new GearmanJob(null, null, job.task, job.unique ?? null, job.data), {
        priority: job.priority,
        background: job.background,
      });
      request.on('data', (d) => void io.stderr.write(`data: ${payloadText(d)}\n`));
      request.on('warning', (d) => void io.stderr.write(`warning: ${payloadText(d)}\n`));
      request.on('status', (s) => {
        const n = s.numerator ?? 0;
        const d = s.denominator ?? 0;
        void io.stderr.write(`status: ${n}/${d}${d > 0 ? ` (${Math.round((n / d) * 100)}%)` : ''}\n`);
      });
      await client.submitMultipleRequests([request], { waitUntilComplete: !job.background, pollTimeout: job.pollTimeout });
    }
    const handle = request.job.handle ?? '';
    if (request.timedOut) {
      await write(io.stderr, `gearman-ts submit: timed out after ${job.pollTimeout} s waiting for ${job.task}${handle ? ` (job ${handle}, ${request.state})` : ''}\n`);
      return EXIT.FAILED;
    }
    if (job.background) {
      if (request.error !== undefined) throw request.error;
      await write(io.stdout, handle + '\n');
      return EXIT.OK;
    }
    if (request.state === JOB_COMPLETE) {
      const result = request.result;
      const bytes = result === null || result === undefined ? Buffer.alloc(0) : typeof result === 'string' ? Buffer.from(result) : (result as Buffer);
      await write(io.stdout, bytes);
      if (io.stdout.isTTY && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) await write(io.stdout, '\n');
      return EXIT.OK;
    }
    const why = request.exception !== null && request.exception !== undefined ? `: ${payloadText(request.exception)}` : request.error !== undefined ? `: ${describeError(request.error)}` : '';
    await write(io.stderr, `gearman-ts submit: job ${handle} (${job.task}) failed${why}\n`);
    return EXIT.FAILED;
  } finally {
    client.shutdown();
  }
}
