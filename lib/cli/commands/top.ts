/**
 * `gearman-ts top`: a live full-screen view of every task across the servers, or one frame with
 * `--once`.
 *
 * @module
 * @internal
 */
import { GearmanAdminClient } from '../../index.js';
import { EXIT, UsageError, numberOption, parse, serverList } from '../args.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { describeError, write, type Io } from '../output.js';
import { CountersReader } from '../counters.js';
import { SORT_KEYS, TopModel, renderFrame, visibleLines, type ServerSample, type SortKey, type ViewState } from '../top-view.js';

const OPTIONS = {
  interval: { type: 'string', short: 'n' },
  once: { type: 'boolean' },
  sort: { type: 'string' },
  asc: { type: 'boolean' },
  filter: { type: 'string', short: 'f' },
  json: { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
} as const;

export const top: Command = {
  name: 'top',
  summary: 'live view of queued / running / workers per task, with rates',
  help: `Usage: gearman-ts top [options]

A full-screen view of every task on every server, refreshed every interval: jobs queued, running,
workers, a rate, and a sparkline of the queue depth. The rate is jobs finished per second where
the server reports counters (the embedded server), else the change of queue depth per second
(+ growing, - draining).

Keys: q quit, s next sort key, r reverse, / type a filter (Enter applies, Esc cancels), Esc
clears the filter. Resizes with the terminal.

Options:
  -n, --interval SECS  seconds between samples (default 1)
      --sort KEY       ${SORT_KEYS.join(', ')} (default queued, largest first)
      --asc            sort ascending
  -f, --filter TEXT    only tasks whose name contains TEXT
      --once           print one frame to stdout and exit (no screen control), for scripts
      --json           with --once: the frame's rows as JSON (with the counters submitted,
                       completed, failed, exceptions where the server reports them)
  -t, --timeout SECS   seconds to wait for each server's answer (default 5)
${SERVERS_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parse('top', argv, OPTIONS);
    if (values.help) return write(io.stdout, top.help + '\n').then(() => EXIT.OK);
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'top');
    const servers = serverList(values.servers, io.env);
    const sort = (values.sort ?? 'queued') as SortKey;
    if (!SORT_KEYS.includes(sort)) throw new UsageError(`--sort must be one of ${SORT_KEYS.join(', ')}, got ${JSON.stringify(values.sort)}`, 'top');
    if (values.json && !values.once) throw new UsageError('--json needs --once', 'top');
    const interval = numberOption('top', 'interval', values.interval, { min: 0.1 }) ?? 1;
    const timeout = numberOption('top', 'timeout', values.timeout, { min: 0 }) ?? 5;
    const view: ViewState = {
      sort,
      descending: sort !== 'task' && !values.asc,
      filter: values.filter ?? '',
      editing: undefined,
      intervalSeconds: interval,
      columns: io.stdout.columns ?? 100,
      rows: io.stdout.rows ?? 30,
      interactive: !values.once,
    };
    const sampler = new Sampler(servers, timeout);
    const model = new TopModel();
    try {
      if (values.once) return await once(sampler, model, view, values.json ?? false, io);
      if (!io.stdout.isTTY) throw new UsageError('top needs a terminal (use --once for one frame)', 'top');
      return await live(sampler, model, view, io);
    } finally {
      sampler.close();
    }
  },
};

/** Asks every server for its status, keeping one admin client per server between samples. */
class Sampler {
  private readonly admins: Map<string, GearmanAdminClient>;
  private readonly counters: CountersReader;
  constructor(
    private readonly servers: string[],
    timeout: number,
  ) {
    this.counters = new CountersReader(Math.max(1, timeout * 1000));
    this.admins = new Map(servers.map((s) => [s, new GearmanAdminClient([s], { pollTimeout: timeout, connectTimeoutMs: Math.max(1, timeout * 1000) })]));
  }

  sample(): Promise<ServerSample[]> {
    return Promise.all(
      this.servers.map(async (server): Promise<ServerSample> => {
        try {
          const [rows, counters] = await Promise.all([this.admins.get(server)!.getStatus(), this.counters.read(server)]);
          return { server, rows, counters };
        } catch (err) {
          return { server, error: describeError(err) };
        }
      }),
    );
  }

  close(): void {
    for (const a of this.admins.values()) a.shutdown();
  }
}

async function once(sampler: Sampler, model: TopModel, view: ViewState, json: boolean, io: Io): Promise<number> {
  const samples = await sampler.sample();
  model.add(samples);
  if (json) {
    const rows = visibleLines(model, view).map(({ task, queued, running, workers, counters }) => ({ task, queued, running, workers, ...counters }));
    await write(io.stdout, JSON.stringify({ servers: samples.map((s) => ({ server: s.server, up: s.error === undefined, error: s.error })), tasks: rows }) + '\n');
  } else {
    await write(io.stdout, renderFrame(model, { ...view, columns: Math.max(view.columns, 100) }).join('\n') + '\n');
  }
  return samples.some((s) => s.error !== undefined) ? EXIT.UNAVAILABLE : EXIT.OK;
}

async function live(sampler: Sampler, model: TopModel, view: ViewState, io: Io): Promise<number> {
  const out = io.stdout;
  const draw = () => {
    view.columns = out.columns ?? view.columns;
    view.rows = out.rows ?? view.rows;
    const lines = renderFrame(model, view);
    out.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\r\n') + '\x1b[J');
  };
  out.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
  const stdin = io.stdin;
  const raw = Boolean(stdin.isTTY);
  if (raw) stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const onKey = (chunk: string) => {
    for (const key of chunk.match(/\x1b\[[0-9;]*[A-Za-z]|\x1b|[\s\S]/g) ?? []) {
      if (view.editing !== undefined) {
        if (key === '\r' || key === '\n') {
          view.filter = view.editing;
          view.editing = undefined;
        } else if (key === '\x1b') view.editing = undefined;
        else if (key === '\x7f' || key === '\b') view.editing = view.editing.slice(0, -1);
        else if (key === '\x03') finish(EXIT.OK);
        else if (key.length === 1 && key >= ' ') view.editing += key;
        continue;
      }
      if (key === 'q' || key === 'Q' || key === '\x03') finish(EXIT.OK);
      else if (key === 's') {
        view.sort = SORT_KEYS[(SORT_KEYS.indexOf(view.sort) + 1) % SORT_KEYS.length]!;
        view.descending = view.sort !== 'task';
      } else if (key === 'r') view.descending = !view.descending;
      else if (key === '/') view.editing = '';
      else if (key === '\x1b') view.filter = '';
    }
    draw();
  };
  stdin.on('data', onKey);
  out.on('resize', draw);
  const onSignal = () => finish(EXIT.OK);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const samples = await sampler.sample();
    if (stopped) return;
    model.add(samples);
    draw();
    timer = setTimeout(() => void tick(), view.intervalSeconds * 1000);
  };
  void tick();
  try {
    return await done;
  } finally {
    stopped = true;
    clearTimeout(timer);
    stdin.off('data', onKey);
    out.off('resize', draw);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    out.write('\x1b[?25h\x1b[?1049l');
  }
}
