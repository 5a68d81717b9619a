// `gearman-ts top` drawn in a pseudo-terminal (tmux): frames follow a changing queue, keys sort
// and filter, it follows a resize, q quits; `--once` prints one frame; the batch progress bar.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { freePort, startGearmand, testServerKind, type Gearmand } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';
import { CLI, runCli } from '../cli/run-cli.js';
import { Tmux } from '../cli/tmux.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The row of `task` on a screen, split into its cells. */
function row(screen: string[], task: string): string[] | undefined {
  const line = screen.find((l) => l.startsWith(task + ' '));
  return line?.trim().split(/\s+/);
}

describe('gearman-ts top', { timeout: 90_000 }, () => {
  let gearmand: Gearmand;
  let client: GearmanClient;
  let dir: string;
  const tmux = new Tmux();

  beforeAll(async () => {
    gearmand = await startGearmand({ threads: 1 });
    client = new GearmanClient([gearmand.host]);
    dir = mkdtempSync(join(tmpdir(), 'cli-top-'));
  });

  afterAll(async () => {
    await tmux.kill();
    client?.shutdown();
    await gearmand?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = (task: string, n: number) => client.submitMultipleJobs(Array.from({ length: n }, (_, i) => ({ task, data: String(i) })), { background: true });

  it('draws live frames that follow the queue, sorts, filters, resizes and quits on q', async () => {
    await submit('alpha-queue', 3);
    await submit('beta-queue', 1);
    const exitFile = join(dir, 'top.exit');
    await tmux.start(`${q(process.execPath)} ${q(CLI)} top --interval 0.2 --servers ${gearmand.host}; echo $? > ${q(exitFile)}; sleep 60`, 100, 20);

    let screen = await tmux.waitForScreen((s) => row(s, 'alpha-queue')?.[1] === '3');
    expect(screen[0]).toMatch(/^gearman-ts top .* servers 1\/1 up .*sort queued desc/);
    expect(screen.find((l) => l.startsWith('TASK'))).toMatch(/^TASK +QUEUED +RUNNING +WORKERS +RATE +HISTORY$/);
    expect(screen[screen.length - 1] === '' ? screen[screen.length - 2] : screen[screen.length - 1]).toContain('q quit');
    // Sorted by queue depth: alpha (3) above beta (1).
    expect(screen.findIndex((l) => l.startsWith('alpha-queue'))).toBeLessThan(screen.findIndex((l) => l.startsWith('beta-queue')));

    // The queue grows between frames: the row follows, the rate shows growth, the sparkline rises.
    await submit('beta-queue', 5);
    screen = await tmux.waitForScreen((s) => row(s, 'beta-queue')?.[1] === '6');
    expect(screen.findIndex((l) => l.startsWith('beta-queue'))).toBeLessThan(screen.findIndex((l) => l.startsWith('alpha-queue')));
    screen = await tmux.waitForScreen((s) => /[▁▂▃▄▅▆▇]+.*█/.test(row(s, 'beta-queue')?.[5] ?? ''));
    expect(screen.find((l) => l.startsWith('tasks '))).toMatch(/^tasks 2 +queued 9 +running 0 +workers 0/);

    // A worker drains beta: the frame shows the queue falling to 0 and a worker.
    const worker = new GearmanWorker([gearmand.host]);
    worker.registerTask('beta-queue', () => 'ok');
    const working = worker.work({ pollTimeout: 1 });
    try {
      screen = await tmux.waitForScreen((s) => row(s, 'beta-queue')?.[1] === '0' && row(s, 'beta-queue')?.[3] === '1');
    } finally {
      worker.shutdown();
      await working;
    }

    // s: next sort key (running); r: reverse.
    await tmux.sendKeys('s');
    await tmux.waitForScreen((s) => /sort running desc/.test(s[0] ?? ''));
    await tmux.sendKeys('r');
    await tmux.waitForScreen((s) => /sort running asc/.test(s[0] ?? ''));

    // /: a filter typed and applied; Esc clears it.
    await tmux.sendKeys('/');
    await tmux.waitForScreen((s) => s.some((l) => l.startsWith('filter: _')));
    await tmux.sendKeys('alp', 'Enter');
    screen = await tmux.waitForScreen((s) => /filter "alp"/.test(s[0] ?? ''));
    expect(row(screen, 'alpha-queue')).toBeDefined();
    expect(row(screen, 'beta-queue')).toBeUndefined();
    await tmux.sendKeys('Escape');
    await tmux.waitForScreen((s) => !/filter/.test(s[0] ?? '') && row(s, 'beta-queue') !== undefined);

    // Narrower than the columns need: the sparkline column goes; taller: the footer moves down.
    await tmux.resize(60, 30);
    screen = await tmux.waitForScreen((s) => s.some((l) => /^TASK +QUEUED +RUNNING +WORKERS +RATE$/.test(l)) && s.slice(25).some((l) => l.includes('q quit')));
    for (const l of screen) expect(l.length).toBeLessThanOrEqual(60);

    await tmux.sendKeys('q');
    await until(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 15_000);
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
    // The screen is restored (the alternate screen is left): top's frame is gone.
    screen = await tmux.capture();
    expect(screen.some((l) => l.startsWith('gearman-ts top'))).toBe(false);
  });

  it('--once prints one frame without screen control; --once --json the rows', async () => {
    await submit('gamma-once', 2);
    const frame = await runCli(['top', '--once', '--servers', gearmand.host]);
    expect(frame.code).toBe(0);
    expect(frame.stdout).not.toMatch(/\x1b/);
    const lines = frame.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^gearman-ts top .* servers 1\/1 up/);
    expect(row(lines, 'gamma-once')?.slice(0, 4)).toEqual(['gamma-once', '2', '0', '0']);
    expect(lines.some((l) => l.includes('q quit'))).toBe(false);

    const json = await runCli(['top', '--once', '--json', '--filter', 'gamma', '--servers', gearmand.host]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.servers).toEqual([{ server: gearmand.host, up: true }]);
    // The embedded server also reports counters (submitted, completed, ...); gearmand does not.
    expect(parsed.tasks).toEqual([expect.objectContaining({ task: 'gamma-once', queued: 2, running: 0, workers: 0 })]);
    if (testServerKind() === 'embedded') expect(parsed.tasks[0]).toMatchObject({ submitted: 2, completed: 0 });
    else expect(parsed.tasks[0].submitted).toBeUndefined();

    // A server down: its error in the frame, the others' rows, exit 3 (as the admin commands).
    const port = await freePort();
    const partial = await runCli(['top', '--once', '--servers', `${gearmand.host},127.0.0.1:${port}`]);
    expect(partial.code).toBe(3);
    expect(partial.stdout).toMatch(/servers 1\/2 up/);
    expect(partial.stdout).toContain(`! 127.0.0.1:${port}: `);
    expect(row(partial.stdout.split('\n'), 'gamma-once')?.[1]).toBe('2');

    const notTty = await runCli(['top', '--servers', gearmand.host]);
    expect(notTty.code).toBe(2);
    expect(notTty.stderr).toContain('top needs a terminal');
    expect((await runCli(['top', '--once', '--sort', 'size', '--servers', gearmand.host])).code).toBe(2);
  });

  it('submit --jsonl draws a progress bar on a terminal', async () => {
    const file = join(dir, 'bar.jsonl');
    writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ task: 'bar-task', data: String(i) })).join('\n'));
    const out = join(dir, 'bar.out');
    const bar = new Tmux();
    try {
      await bar.start(`${q(process.execPath)} ${q(CLI)} submit --jsonl ${q(file)} --background --servers ${gearmand.host} > ${q(out)}; sleep 60`, 100, 10);
      const screen = await bar.waitForScreen((s) => s.some((l) => l.includes('20 job(s): 20 accepted')));
      expect(screen.find((l) => l.startsWith('['))).toMatch(/^\[#{10,}\] 100% 20\/20 accepted 20 running 0 done 20 failed 0/);
    } finally {
      await bar.kill();
    }
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(20);
  });
});
