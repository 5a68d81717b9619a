// WorkerCommandHandler driven directly, as python-gearman's own tests do: packets are injected
// with recvCommand(), and the packets it sends are read from a recording host. The job slots
// (lib/worker/job-slots.ts) decide which connection may GRAB.
import { describe, expect, it } from 'vitest';
import { WorkerCommandHandler, type WorkerHandlerHost } from '../../lib/command-handler/worker-handler.js';
import { JobSlots } from '../../lib/worker/job-slots.js';
import type { WorkerJob } from '../../lib/worker/worker-job.js';
import { CommandType, commandName } from '../../lib/protocol/commands.js';
import { InvalidWorkerState, UnknownCommandError } from '../../lib/errors.js';
import { NoopEncoder } from '../../lib/encoders.js';
import type { GearmanConnection } from '../../lib/connection.js';
import type { CommandHandler } from '../../lib/command-handler/command-handler.js';
import type { PacketArg } from '../../lib/protocol/encoder.js';
import { recordingLogger } from '../helpers/fake-server.js';

const T = CommandType;

interface Sent {
  on: string;
  packet: string;
  args: string[];
}

function makeHost(capacity = 1, abilities: Array<[string, number | undefined]> = [['reverse', undefined]]) {
  const sent: Sent[] = [];
  const jobs: Array<{ handler: WorkerCommandHandler; job: WorkerJob }> = [];
  const proven: string[] = [];
  const logger = recordingLogger();
  const host: WorkerHandlerHost = {
    logger,
    dataEncoder: NoopEncoder,
    workerClientId: 'unit-1',
    slots: new JobSlots<WorkerCommandHandler>(capacity),
    abilityList: () => abilities,
    executeJob: (handler, job) => jobs.push({ handler, job }),
    connectionProven: (connection) => proven.push(connection.address),
    handlerLost: (handler) => host.slots.remove(handler),
    sendCommand: (handler: CommandHandler, type: number, args: readonly PacketArg[]) => {
      sent.push({ on: handler.connection.address, packet: commandName(type), args: args.map((a) => Buffer.from(a).toString()) });
    },
    onGearmanError: (_handler, error) => logger.error(error.message),
  };
  /** A connected handler on a stand-in connection named `address`. */
  function connect(address: string): WorkerCommandHandler {
    const connection = { address, handler: undefined } as unknown as GearmanConnection;
    const handler = new WorkerCommandHandler(host, connection);
    connection.handler = handler;
    handler.initialState();
    return handler;
  }
  /** The packets sent since the last call, as 'address NAME'. */
  function take(): string[] {
    return sent.splice(0).map((s) => `${s.on} ${s.packet}${s.args.length > 0 ? ` ${s.args.join(',')}` : ''}`);
  }
  /** A job of `handler` settled, as the worker reports it. */
  function settle(handler: WorkerCommandHandler): void {
    host.slots.finished(handler);
    handler.jobSettled();
    host.slots.fill();
  }
  return { host, sent, jobs, proven, logger, connect, take, settle };
}

const assignUniq = (handle: string) => [handle, 'reverse', `u-${handle}`, Buffer.from('data')];

describe('WorkerCommandHandler: registration', () => {
  it('on connect sends SET_CLIENT_ID, RESET_ABILITIES, CAN_DO / CAN_DO_TIMEOUT per task, then PRE_SLEEP', () => {
    const w = makeHost(1, [
      ['reverse', undefined],
      ['slow', 1500],
    ]);
    w.connect('a:1');
    expect(w.take()).toEqual(['a:1 SET_CLIENT_ID unit-1', 'a:1 RESET_ABILITIES', 'a:1 CAN_DO reverse', 'a:1 CAN_DO_TIMEOUT slow,1500', 'a:1 PRE_SLEEP']);
  });

  it('while a job runs on the connection, new abilities are added with CAN_DO only; the reset waits for the job', () => {
    const abilities: Array<[string, number | undefined]> = [['reverse', undefined]];
    const w = makeHost(1, abilities);
    const a = w.connect('a:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:1'));
    w.take();
    abilities.push(['more', undefined]);
    a.setAbilities();
    expect(w.take()).toEqual(['a:1 CAN_DO more']);
    abilities.splice(0, 1); // 'reverse' unregistered: needs RESET_ABILITIES, which would lose H:1's result
    a.setAbilities();
    expect(w.take()).toEqual([]);
    w.settle(a);
    expect(w.take()).toEqual(['a:1 RESET_ABILITIES', 'a:1 CAN_DO more', 'a:1 GRAB_JOB_UNIQ']);
    // A new timeout for a task already advertised waits for the job too.
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:2'));
    abilities[0] = ['more', 3000];
    a.setAbilities();
    expect(w.take()).toEqual([]);
    w.settle(a);
    expect(w.take()).toEqual(['a:1 RESET_ABILITIES', 'a:1 CAN_DO_TIMEOUT more,3000', 'a:1 GRAB_JOB_UNIQ']);
  });
});

describe('WorkerCommandHandler: the grab cycle', () => {
  it('NOOP → GRAB_JOB_UNIQ; NO_JOB → PRE_SLEEP; JOB_ASSIGN_UNIQ runs the job and proves the connection', () => {
    const w = makeHost();
    const a = w.connect('a:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ']);
    expect(a.state).toBe('grabbing');
    a.recvCommand(T.NO_JOB, []);
    expect(w.take()).toEqual(['a:1 PRE_SLEEP']);
    expect(a.state).toBe('sleeping');
    a.recvCommand(T.NOOP, []);
    w.take();
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:7'));
    expect(w.jobs).toHaveLength(1);
    expect(w.jobs[0]!.job).toMatchObject({ handle: 'H:7', task: 'reverse', unique: 'u-H:7' });
    expect(String(w.jobs[0]!.job.data)).toBe('data');
    expect(a.state).toBe('working');
    expect(w.proven).toEqual(['a:1', 'a:1']);
    // The slot is taken: a NOOP now only wakes it.
    a.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual([]);
    // Done: it asks again at once (no PRE_SLEEP round trip after a job).
    w.settle(a);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ']);
  });

  it('hands a freed slot to a connection woken meanwhile (NOOP hand-off), then back in turn', () => {
    const w = makeHost(1);
    const a = w.connect('a:1');
    const b = w.connect('b:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:a1'));
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ']);
    b.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual([]); // no slot: remembered, not answered with PRE_SLEEP
    expect(b.wakePending).toBe(true);
    w.settle(a);
    expect(w.take()).toEqual(['b:1 GRAB_JOB_UNIQ']);
    b.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:b1'));
    w.settle(b);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ']); // a is still awake: its turn
    a.recvCommand(T.NO_JOB, []);
    expect(w.take()).toEqual(['a:1 PRE_SLEEP', 'b:1 GRAB_JOB_UNIQ']);
  });

  it('with 3 slots sends at most 3 GRABs, and PRE_SLEEP once the last one is answered NO_JOB', () => {
    const w = makeHost(3);
    const a = w.connect('a:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ']);
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:1'));
    expect(w.take()).toEqual([]); // every slot is held (one job, two GRABs out)
    a.recvCommand(T.NO_JOB, []);
    expect(w.take()).toEqual([]);
    a.recvCommand(T.NO_JOB, []);
    expect(w.take()).toEqual(['a:1 PRE_SLEEP']);
    expect(w.host.slots.used).toBe(1);
    expect(w.host.slots.running).toBe(1);
  });

  it('with 4 slots over two connections, shares the GRABs in turn', () => {
    const w = makeHost(4);
    const a = w.connect('a:1');
    const b = w.connect('b:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ']);
    for (let i = 0; i < 4; i++) a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq(`H:a${i}`));
    b.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual([]);
    w.settle(a);
    w.settle(a);
    expect(w.take()).toEqual(['b:1 GRAB_JOB_UNIQ', 'a:1 GRAB_JOB_UNIQ']);
  });

  it('a per-connection limit of 1 (a task with CAN_DO_TIMEOUT) keeps one job per connection', () => {
    const w = makeHost(4, [['slow', 2000]]);
    w.host.slots.perLaneLimit = 1;
    const a = w.connect('a:1');
    const b = w.connect('b:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    b.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ', 'b:1 GRAB_JOB_UNIQ']);
    expect(w.host.slots.free).toBe(2);
  });

  it('a lost connection frees its GRAB slots at once; its running job keeps its slot until it settles', () => {
    const w = makeHost(2);
    const a = w.connect('a:1');
    const b = w.connect('b:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    w.take();
    a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:1'));
    expect(w.host.slots.used).toBe(2); // a job and a GRAB
    (a.connection as { handler: unknown }).handler = undefined;
    a.onIoError(new InvalidWorkerState('lost'));
    expect(w.host.slots.used).toBe(1);
    b.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['b:1 GRAB_JOB_UNIQ']);
    w.host.slots.finished(a);
    expect(w.host.slots.used).toBe(1);
  });
});

describe('WorkerCommandHandler: what it refuses and what it tolerates', () => {
  it('a job or NO_JOB that was not asked for is an InvalidWorkerState (the manager closes the connection)', () => {
    const w = makeHost();
    const a = w.connect('a:1');
    expect(() => a.recvCommand(T.JOB_ASSIGN_UNIQ, assignUniq('H:1'))).toThrow(/received job H:1 \(reverse\) when none was asked for/);
    expect(() => a.recvCommand(T.NO_JOB, [])).toThrow(InvalidWorkerState);
    expect(w.proven).toEqual([]);
    expect(w.jobs).toEqual([]);
  });

  it('a packet a worker never gets is an UnknownCommandError', () => {
    const w = makeHost();
    const a = w.connect('a:1');
    expect(() => a.recvCommand(T.JOB_CREATED, ['H:1'])).toThrow(UnknownCommandError);
  });

  it('ERROR JOB_NOT_FOUND (an update for a re-queued job) is logged at debug and changes nothing', () => {
    const w = makeHost();
    const a = w.connect('a:1');
    w.take();
    a.recvCommand(T.ERROR, ['JOB_NOT_FOUND', 'Job given in work result not found']);
    expect(w.take()).toEqual([]);
    expect(w.logger.find('JOB_NOT_FOUND', 'debug')).toHaveLength(1);
    expect(w.logger.find('JOB_NOT_FOUND', 'error')).toEqual([]);
  });

  it('an ERROR answering GRAB_JOB_UNIQ (the Perl server) switches to GRAB_JOB and CAN_DO_TIMEOUT in seconds', () => {
    const w = makeHost(1, [['slow', 1500]]);
    const a = w.connect('a:1');
    w.take();
    a.recvCommand(T.NOOP, []);
    expect(w.take()).toEqual(['a:1 GRAB_JOB_UNIQ']);
    a.recvCommand(T.ERROR, ['server_error', 'Can\'t locate object method "CMD_"']);
    expect(a.legacyServer).toBe(true);
    expect(w.take()).toEqual(['a:1 RESET_ABILITIES', 'a:1 CAN_DO_TIMEOUT slow,2', 'a:1 GRAB_JOB']);
    a.recvCommand(T.JOB_ASSIGN, ['H:vm:1', 'slow', Buffer.from('x')]);
    expect(w.jobs[0]!.job).toMatchObject({ handle: 'H:vm:1', task: 'slow', unique: null });
    expect(a.effectiveTimeoutMs(1500)).toBe(2000);
  });
});
