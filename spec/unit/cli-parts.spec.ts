// The command-line tool's parts that do no I/O: tables, server lists, JSON lines, --when, top's model
// and frame, the progress line.
import { describe, expect, it } from 'vitest';
import { formatTable } from '../../lib/cli/table.js';
import { serverList, UsageError } from '../../lib/cli/args.js';
import { parseLines } from '../../lib/cli/commands/submit-batch.js';
import { parsePriority, parseWhen } from '../../lib/cli/commands/submit.js';
import { TopModel, renderFrame, sparkline, visibleLines, type ViewState } from '../../lib/cli/top-view.js';
import { Progress, formatDuration } from '../../lib/cli/progress.js';
import { PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NONE } from '../../lib/index.js';

describe('formatTable', () => {
  it('pads columns to the widest cell, numbers to the right', () => {
    const text = formatTable(
      [
        { header: 'TASK', value: (r: { t: string; n: number }) => r.t },
        { header: 'N', value: (r) => r.n },
      ],
      [
        { t: 'a', n: 5 },
        { t: 'longer', n: 12345 },
      ],
    );
    expect(text).toBe('TASK        N\na           5\nlonger  12345\n');
  });
});

describe('serverList', () => {
  it('takes --servers, else GEARMAN_SERVERS, else localhost:4730', () => {
    expect(serverList('a:1, b:2', {})).toEqual(['a:1', 'b:2']);
    expect(serverList(undefined, { GEARMAN_SERVERS: 'c:3' })).toEqual(['c:3']);
    expect(serverList(undefined, {})).toEqual(['localhost:4730']);
    expect(serverList('[::1]:4730', {})).toEqual(['[::1]:4730']);
  });
  it('refuses malformed entries and empty lists, naming the source', () => {
    expect(() => serverList('a:0', {})).toThrow(UsageError);
    expect(() => serverList(undefined, { GEARMAN_SERVERS: 'x y' })).toThrow(/in GEARMAN_SERVERS/);
    expect(() => serverList(',', {})).toThrow(/names no server/);
  });
});

describe('submit arguments', () => {
  it('priorities and --when forms', () => {
    expect([parsePriority('high'), parsePriority('LOW'), parsePriority('normal'), parsePriority(undefined)]).toEqual([PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NONE, PRIORITY_NONE]);
    expect(() => parsePriority('urgent')).toThrow(UsageError);
    expect(parseWhen('+90', 1_000_000).getTime()).toBe(1_090_000);
    expect(parseWhen('1700000000').getTime()).toBe(1_700_000_000_000);
    expect(parseWhen('2030-01-02T03:04:05Z').toISOString()).toBe('2030-01-02T03:04:05.000Z');
    expect(() => parseWhen('soon')).toThrow(UsageError);
  });

  it('JSON lines: defaults, bytes, blank lines; errors name the line', () => {
    const lines = parseLines('{"data":"a"}\n\n{"task":"t2","dataBase64":"AAE=","unique":"u","priority":"high"}\n{"task":"t3","data":{"n":1}}\n', 't1', undefined);
    expect(lines.map((l) => [l.line, l.spec.task, l.spec.unique, l.spec.priority])).toEqual([
      [1, 't1', undefined, undefined],
      [3, 't2', 'u', PRIORITY_HIGH],
      [4, 't3', undefined, undefined],
    ]);
    expect(lines[1]!.spec.data).toEqual(Buffer.from([0, 1]));
    expect(lines[2]!.spec.data).toBe('{"n":1}');
    expect(() => parseLines('{"task":"t"}\n[1]\n', undefined, undefined)).toThrow(/^line 2: expected an object/);
    expect(() => parseLines('{"data":"x"}', undefined, undefined)).toThrow(/line 1: no "task"/);
    expect(() => parseLines('{"task":"t","priority":"max"}', undefined, undefined)).toThrow(/line 1: "priority"/);
  });
});

describe('top', () => {
  const view = (over: Partial<ViewState> = {}): ViewState => ({
    sort: 'queued',
    descending: true,
    filter: '',
    editing: undefined,
    intervalSeconds: 1,
    columns: 100,
    rows: 20,
    interactive: true,
    ...over,
  });

  it('folds servers per task; rates from counters, else from the change of depth', () => {
    const model = new TopModel(5);
    const counters = (completed: number) => new Map([['c', { submitted: 0, completed, failed: 0, exceptions: 0 }]]);
    model.add([
      { server: 'a', rows: [{ task: 'q', queued: 10, running: 1, workers: 1 }, { task: 'c', queued: 0, running: 0, workers: 1 }], counters: counters(100) },
      { server: 'b', rows: [{ task: 'q', queued: 5, running: 0, workers: 2 }] },
    ], 0);
    expect(model.lines.find((l) => l.task === 'q')).toMatchObject({ queued: 15, running: 1, workers: 3, rate: undefined });
    model.add([
      { server: 'a', rows: [{ task: 'q', queued: 4, running: 1, workers: 1 }, { task: 'c', queued: 0, running: 0, workers: 1 }], counters: counters(150) },
      { server: 'b', rows: [{ task: 'q', queued: 1, running: 0, workers: 2 }] },
    ], 2000);
    expect(model.lines.find((l) => l.task === 'q')).toMatchObject({ queued: 5, rate: -5, rateFromCounters: false, history: [15, 5] });
    expect(model.lines.find((l) => l.task === 'c')).toMatchObject({ rate: 25, rateFromCounters: true });
    const frame = renderFrame(model, view());
    expect(frame.find((l) => l.startsWith('q '))).toMatch(/^q +5 +1 +3 +-5\.0\/s +█▃$/);
    expect(frame.find((l) => l.startsWith('c '))).toMatch(/^c +0 +0 +1 +25\/s +▁▁$/);
  });

  it('sorts, filters, and fits the terminal', () => {
    const model = new TopModel();
    model.add([{ server: 'a', rows: Array.from({ length: 30 }, (_, i) => ({ task: `task-${String(i).padStart(2, '0')}`, queued: i, running: 30 - i, workers: 1 })) }]);
    expect(visibleLines(model, view()).map((l) => l.task)[0]).toBe('task-29');
    expect(visibleLines(model, view({ sort: 'running' })).map((l) => l.task)[0]).toBe('task-00');
    expect(visibleLines(model, view({ sort: 'task', descending: false, filter: '-1' })).map((l) => l.task)).toEqual(['task-10', 'task-11', 'task-12', 'task-13', 'task-14', 'task-15', 'task-16', 'task-17', 'task-18', 'task-19']);
    const small = renderFrame(model, view({ columns: 40, rows: 12 }));
    expect(small).toHaveLength(12);
    for (const l of small) expect(l.length).toBeLessThanOrEqual(40);
    expect(small).toContainEqual(expect.stringMatching(/^… \d+ more$/));
    expect(small[11]).toContain('q quit');
    const tiny = renderFrame(model, view({ columns: 30, rows: 3 }));
    expect(tiny).toHaveLength(3);
    expect(tiny[2]).toContain('q quit');
  });

  it('sparkline scales to the maximum shown', () => {
    expect(sparkline([0, 0, 0], 10)).toBe('▁▁▁');
    expect(sparkline([0, 7, 14], 10)).toBe('▁▅█');
    expect(sparkline([1, 2, 3, 4], 2)).toBe('▆█');
  });
});

describe('progress', () => {
  it('plain lines when not a terminal, a bar on one', () => {
    const counts = { total: 10, accepted: 10, running: 2, done: 5, failed: 1, resubmitted: 0, lastStatus: { numerator: 3, denominator: 4 } };
    const fake = { isTTY: false, columns: 80, write: () => true } as unknown as NodeJS.WriteStream;
    const plain = new Progress(fake, counts, { tty: false });
    expect(plain.line()).toMatch(/^progress: 6\/10 accepted 10 running 2 done 5 failed 1 \d+\/s ETA \S+ status 3\/4$/);
    plain.stop();
    const bar = new Progress(fake, counts, { tty: true });
    expect(bar.line(120)).toMatch(/^\[#+-+\]  60% 6\/10 /);
    bar.stop();
    expect([formatDuration(0.04), formatDuration(42.4), formatDuration(185), formatDuration(7300)]).toEqual(['0.0s', '42s', '3m05s', '2h01m']);
  });
});
