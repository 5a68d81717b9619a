// The embedded server answers as gearmand 1.1.20 does: each scenario runs the same bytes against a
// fresh gearmand and a fresh embedded server, and every connection's replies must be equal, after
// handles are renumbered in order of appearance (H#1, H#2...) and the pid masked. Listings are
// compared as sorted rows with the connection column masked, because gearmand prints them in hash
// order and with file descriptors. Needs gearmand (run only where it is installed).
import { describe, expect, it } from 'vitest';
import { startGearmand } from '../helpers/gearmand.mjs';
import { GearmanServer } from '../../lib/server/index.js';
import { req, packet, header } from '../helpers/packets.js';
import { RawPeer, type Reply } from './raw-peer.js';

type Transcript = Record<string, Reply[]>;
type Scenario = (port: number) => Promise<Transcript>;

async function onBoth(scenario: Scenario): Promise<{ gearmand: Transcript; embedded: Transcript }> {
  const gd = await startGearmand({ server: 'gearmand' });
  const embedded = await GearmanServer.start({ port: 0, handlePrefix: 'H:test' });
  try {
    const a = await scenario(gd.port).catch((err: Error) => Promise.reject(new Error(`against gearmand: ${err.message}`)));
    const b = await scenario(embedded.port).catch((err: Error) => Promise.reject(new Error(`against the embedded server: ${err.message}`)));
    return { gearmand: normalize(a), embedded: normalize(b) };
  } finally {
    await gd.stop();
    await embedded.close();
  }
}

function normalize(t: Transcript): Transcript {
  const handles = new Map<string, string>();
  const out: Transcript = {};
  for (const [peer, replies] of Object.entries(t)) {
    out[peer] = replies.map((r) =>
      r
        .replace(/H:[^"\\\s:]+:\d+/g, (h) => {
          if (!handles.has(h)) handles.set(h, `H#${handles.size + 1}`);
          return handles.get(h)!;
        })
        .replace(/^text "OK \d+\\n"$/, 'text "OK <pid>\\n"'),
    );
  }
  return out;
}

/** A listing's rows sorted, the `workers` fd column masked, the `.` kept last. */
function listing(replies: Reply[]): Reply[] {
  const rows = replies.filter((r) => r !== 'text ".\\n"').map((r) => r.replace(/^text "\d+ /, 'text "<fd> '));
  return [...rows.sort(), ...replies.filter((r) => r === 'text ".\\n"')];
}

async function expectSame(scenario: Scenario): Promise<Transcript> {
  const { gearmand, embedded } = await onBoth(scenario);
  expect(embedded).toEqual(gearmand);
  return gearmand;
}

const UNIQUE_63 = 'u'.repeat(63);
const UNIQUE_64 = 'v'.repeat(64);
const UNIQUE_65 = 'w'.repeat(65);

describe('the embedded server answers as gearmand 1.1.20', () => {
  it('admin one-line commands and errors', async () => {
    const t = await expectSame(async (port) => {
      const a = await RawPeer.connect(port);
      const w = await RawPeer.connect(port);
      w.send(req('CAN_DO', 'resize'), req('ECHO_REQ', 'sync'));
      await w.more(1);
      const out: Reply[] = [];
      for (const command of [
        'getpid', 'verbose', 'VERBOSE DEBUG', 'maxqueue resize 10', 'maxqueue resize 1 2 3', 'maxqueue', 'maxqueue nope 3',
        'cancel job H:x:999', 'cancel job', 'cancel job a b', 'cancel foo bar', 'create function newf', 'drop function newf',
        'drop function nope', 'drop function RESIZE', 'show', 'show foo', 'show jobs extra', 'shutdown', 'shutdown graceful',
        '', ' status', 'foo', 'create function', 'drop', 'create x y z',
      ]) {
        out.push(...(await a.admin(command)));
      }
      a.close();
      w.close();
      return { admin: out };
    });
    expect(t.admin).toContain('text "ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\\r\\n"');
    expect(t.admin).toContain('text "ERR there are still connected workers or executing clients\\r\\n"');
  });

  it('a sixth word closes the admin connection', async () => {
    const t = await expectSame(async (port) => {
      const a = await RawPeer.connect(port);
      a.line('status a b c d e');
      await a.whenClosed();
      return { admin: [...a.replies, 'closed'] };
    });
    expect(t.admin).toEqual(['closed']);
  });

  it('status, prioritystatus, workers, show jobs, show unique jobs', async () => {
    const t = await expectSame(async (port) => {
      const w = await RawPeer.connect(port);
      w.send(req('SET_CLIENT_ID', 'worker 1'), req('CAN_DO', 'resize'), req('CAN_DO', 'email'), req('ECHO_REQ', 'sync'));
      await w.more(1);
      const c = await RawPeer.connect(port);
      c.send(
        req('SUBMIT_JOB_BG', 'resize', 'img-1', 'a'),
        req('SUBMIT_JOB_HIGH_BG', 'resize', 'img-2', 'b'),
        req('SUBMIT_JOB', 'resize', '', 'c'),
        req('SUBMIT_JOB_LOW_BG', 'email', 'img-3', 'd'),
      );
      await c.more(4);
      w.send(req('GRAB_JOB'));
      await w.more(1);
      const a = await RawPeer.connect(port);
      const out: Transcript = { worker: w.replies, client: c.replies };
      for (const command of ['status', 'prioritystatus', 'workers', 'show jobs', 'show unique jobs']) out[command] = listing(await a.admin(command));
      for (const p of [a, w, c]) p.close();
      return out;
    });
    expect(t.status).toEqual(['text "email\\t1\\t1\\t1\\n"', 'text "resize\\t3\\t0\\t1\\n"', 'text ".\\n"']);
    expect(t.workers).toContain('text "<fd> 127.0.0.1 worker 1 : email resize\\n"');
  });

  it('packet types a server does not accept, bad magic, echo', async () => {
    const t = await expectSame(async (port) => {
      const p = await RawPeer.connect(port);
      const sent: Buffer[] = [
        packet('REQ', 5, []),
        req('NOOP'),
        req('JOB_CREATED', 'H:1'),
        req('NO_JOB'),
        req('JOB_ASSIGN', 'H:1', 'f', 'd'),
        req('ECHO_RES', 'x'),
        req('ERROR', 'C', 'text'),
        req('STATUS_RES', 'H:1', '1', '0', '0', '0'),
        req('ALL_YOURS'),
        req('OPTION_RES', 'x'),
        req('JOB_ASSIGN_UNIQ', 'H:1', 'f', 'u', 'd'),
        req('SUBMIT_JOB_SCHED', 'f', 'u', '1', '2', '3', '4', '5', 'd'),
        req('JOB_ASSIGN_ALL', 'H:1', 'f', 'u', 'r', 'd'),
        req('STATUS_RES_UNIQUE', 'u', '1', '0', '0', '0', '0'),
        packet('RES', 'ECHO_REQ', ['abc']),
        req('ECHO_REQ', ''),
        req('ECHO_REQ', Buffer.from([0, 1, 0, 2])),
        req('ECHO_REQ', Buffer.alloc(100_000, 7)),
      ];
      p.send(...sent);
      await p.more(sent.length);
      const z = await RawPeer.connect(port);
      z.send(packet('REQ', 0, []));
      await z.whenClosed();
      const big = await RawPeer.connect(port);
      big.send(packet('REQ', 43, []));
      await big.whenClosed();
      const odd = await RawPeer.connect(port);
      odd.send(header([0, 0x58, 0x59, 0x5a], 'ECHO_REQ', 0));
      await odd.whenClosed();
      p.close();
      return { peer: p.replies, zero: [...z.replies, 'closed'], big: [...big.replies, 'closed'], odd: [...odd.replies, 'closed'] };
    });
    expect(t.peer![0]).toBe('ERROR "INVALID_COMMAND" "Command not expected"');
    expect(t.peer).toContain('ERROR "INVALID_MAGIC" "Request magic expected"');
  });

  it('OPTION_REQ: exceptions in any case, anything else refused', async () => {
    await expectSame(async (port) => {
      const p = await RawPeer.connect(port);
      p.send(req('OPTION_REQ', 'exceptions'), req('OPTION_REQ', 'EXCEPTIONS'), req('OPTION_REQ', 'foo'), req('OPTION_REQ', ''), req('OPTION_REQ', 'x'.repeat(70)));
      await p.more(5);
      p.close();
      return { peer: p.replies };
    });
  });

  it('uniques: 63 coalesce, 64 stored short and not coalesced, 65 refused; - coalesces on data', async () => {
    const t = await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      const sent = [
        req('SUBMIT_JOB_BG', 'f', UNIQUE_63, 'a'),
        req('SUBMIT_JOB_BG', 'f', UNIQUE_63, 'b'),
        req('SUBMIT_JOB_BG', 'f', UNIQUE_64, 'a'),
        req('SUBMIT_JOB_BG', 'f', UNIQUE_64, 'a'),
        req('SUBMIT_JOB_BG', 'f', UNIQUE_65, 'a'),
        req('SUBMIT_JOB_BG', 'f', '-', 'same'),
        req('SUBMIT_JOB_BG', 'f', '-', 'same'),
        req('SUBMIT_JOB_BG', 'f', '-', 'other'),
        req('SUBMIT_JOB_BG', 'g', UNIQUE_63, 'a'),
        req('SUBMIT_JOB_BG', 'f', '', 'a'),
        req('SUBMIT_JOB_BG', 'f', '', 'a'),
        req('GET_STATUS_UNIQUE', UNIQUE_63),
        req('GET_STATUS_UNIQUE', 'nope'),
        // Not here: GET_STATUS_UNIQUE of a 64-byte unique (gearmand's answer varies; see
        // 'requests gearmand leaves unanswered' below).
        req('ECHO_REQ', 'after'),
      ];
      c.send(...sent);
      // Every request above has exactly one reply.
      await c.expectMore(sent.length);
      const w = await RawPeer.connect(port);
      // GRAB_JOB, not _UNIQ: gearmand 1.1.20 sends a 64-byte unique's job to a GRAB_JOB_UNIQ as
      // its first 63 bytes followed by a stray byte (an out-of-bounds read: the worker saw data
      // "\0a" for "a"); the embedded server sends the 63 bytes and the data intact (server.spec.ts).
      w.send(req('CAN_DO', 'f'), req('GRAB_JOB'), req('GRAB_JOB'), req('GRAB_JOB'));
      await w.expectMore(3);
      c.close();
      w.close();
      return { client: c.replies, worker: w.replies };
    });
    expect(t.client![4]).toBe('ERROR "ARGUMENT_TOO_LARGE" "Unique value too large"');
    expect(t.client![0]).toBe(t.client![1]);
    expect(t.client![2]).not.toBe(t.client![3]);
  });

  it('GET_STATUS: unknown, queued, running, after WORK_STATUS, finished', async () => {
    await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      const w = await RawPeer.connect(port);
      // Not here: GET_STATUS of a handle of 64 bytes or more and GET_STATUS_UNIQUE of a unique
      // of 64 bytes or more (gearmand's answer varies; see 'requests gearmand leaves unanswered').
      c.send(req('GET_STATUS', 'H:nope:1\0tail'), req('GET_STATUS_UNIQUE', 'u\0v'));
      await c.expectMore(2);
      c.send(req('GET_STATUS', 'H:nope:1'), req('GET_STATUS', ''), req('ECHO_REQ', 'x'), req('SUBMIT_JOB_BG', 'st', '', 'd'));
      const [, , , created] = await c.expectMore(4);
      expect(created).toMatch(/^JOB_CREATED /);
      const handle = JSON.parse(created!.slice('JOB_CREATED '.length)) as string;
      c.send(req('GET_STATUS', handle));
      await c.expectMore(1);
      w.send(req('CAN_DO', 'st'), req('GRAB_JOB'));
      await w.expectMore(1);
      c.send(req('GET_STATUS', handle));
      await c.expectMore(1);
      w.send(req('WORK_STATUS', handle, '3', '10'), req('ECHO_REQ', 'x'));
      await w.expectMore(1);
      c.send(req('GET_STATUS', handle), req('GET_STATUS_UNIQUE', ''));
      await c.expectMore(2);
      w.send(req('WORK_COMPLETE', handle, 'done'), req('ECHO_REQ', 'x'));
      await w.expectMore(1);
      c.send(req('GET_STATUS', handle));
      await c.expectMore(1);
      c.close();
      w.close();
      return { client: c.replies, worker: w.replies };
    });
  });

  // Each on a fresh connection, with an ECHO_REQ behind it, so the read waits for an event either
  // way: the ECHO_RES (the connection stayed open) or the close. gearmand 1.1.20 never answers
  // these requests, but was seen both to close the connection (dropping replies it had not yet
  // written, which is why they are kept out of the compared transcripts) and to leave it open and
  // silent, from one run to the next; the embedded server does one thing each time.
  it('requests gearmand leaves unanswered: GET_STATUS of a 64-byte handle, GET_STATUS_UNIQUE of a 64-byte unique', async () => {
    const cases = [
      { request: req('GET_STATUS', 'H'.repeat(64)), embedded: 'closed' },
      { request: req('GET_STATUS_UNIQUE', UNIQUE_64), embedded: 'open' },
      { request: req('GET_STATUS_UNIQUE', UNIQUE_65), embedded: 'open' },
    ] as const;
    const probe = async (port: number, request: Buffer) => {
      const p = await RawPeer.connect(port);
      p.send(request, req('ECHO_REQ', 'after'));
      await p.until(1); // the ECHO_RES or the close, bounded (rejects after 10 s)
      p.close();
      return p.replies;
    };
    const gd = await startGearmand({ server: 'gearmand' });
    const embedded = await GearmanServer.start({ port: 0, handlePrefix: 'H:test' });
    try {
      for (const { request, embedded: expected } of cases) {
        const byGearmand = await probe(gd.port, request);
        expect([[], ['ECHO_RES "after"']]).toContainEqual(byGearmand);
        expect(await probe(embedded.port, request)).toEqual(expected === 'open' ? ['ECHO_RES "after"'] : []);
      }
    } finally {
      await gd.stop();
      await embedded.close();
    }
  });

  it('worker wake-ups: NO_JOB, PRE_SLEEP with work queued, one NOOP per sleep, GRAB variants', async () => {
    await expectSame(async (port) => {
      const w = await RawPeer.connect(port);
      const w2 = await RawPeer.connect(port);
      const c = await RawPeer.connect(port);
      w.send(req('GRAB_JOB'));
      await w.more(1);
      w.send(req('CAN_DO', 'wk'), req('PRE_SLEEP'), req('ECHO_REQ', 'sleeping'));
      w2.send(req('CAN_DO', 'wk'), req('PRE_SLEEP'), req('ECHO_REQ', 'sleeping'));
      await w.more(1);
      await w2.more(1);
      c.send(req('SUBMIT_JOB_BG', 'wk', '', 'one'));
      await c.more(1);
      await w.more(1);
      await w2.more(1);
      c.send(req('SUBMIT_JOB_BG', 'wk', '', 'two'), req('SUBMIT_REDUCE_JOB_BACKGROUND', 'wk', 'r1', 'reducer', '', 'three'), req('SUBMIT_REDUCE_JOB_BACKGROUND', 'wk', 'r2', 'reducer', '', 'four'));
      await c.more(3);
      w.send(req('ECHO_REQ', 'no second noop'));
      await w.more(1);
      w.send(req('GRAB_JOB_ALL'), req('GRAB_JOB'), req('GRAB_JOB_ALL'));
      await w.more(3);
      w2.send(req('PRE_SLEEP'), req('ECHO_REQ', 'after'));
      await w2.more(2);
      w2.send(req('GRAB_JOB_UNIQ'), req('GRAB_JOB_UNIQ'));
      await w2.more(2);
      for (const p of [w, w2, c]) p.close();
      return { w: w.replies, w2: w2.replies, c: c.replies };
    });
  });

  it('results: WORK_* forwarded, exceptions converted unless asked for, coalesced twice on one connection', async () => {
    const t = await expectSame(async (port) => {
      const plain = await RawPeer.connect(port);
      const asked = await RawPeer.connect(port);
      const w = await RawPeer.connect(port);
      asked.send(req('OPTION_REQ', 'exceptions'));
      await asked.more(1);
      w.send(req('CAN_DO', 'res'), req('ECHO_REQ', 'x'));
      await w.more(1);
      plain.send(req('SUBMIT_JOB', 'res', 'u-1', 'a'), req('SUBMIT_JOB', 'res', 'u-1', 'a'));
      await plain.more(2);
      asked.send(req('SUBMIT_JOB', 'res', 'u-1', 'a'));
      await asked.more(1);
      w.send(req('GRAB_JOB'));
      const [assign] = await w.more(1);
      const handle = JSON.parse(assign!.split(' ')[1]!) as string;
      w.send(
        req('WORK_DATA', handle, 'data'),
        req('WORK_WARNING', handle, 'warn'),
        req('WORK_STATUS', handle, '1', '2'),
        req('WORK_EXCEPTION', handle, 'boom'),
        req('ECHO_REQ', 'x'),
      );
      await w.more(1);
      await plain.more(8);
      await asked.more(4);
      // A second job: plain WORK_FAIL, then results for finished and unknown handles.
      plain.send(req('SUBMIT_JOB', 'res', '', 'b'));
      await plain.more(1);
      w.send(req('GRAB_JOB'));
      const [assign2] = await w.more(1);
      const handle2 = JSON.parse(assign2!.split(' ')[1]!) as string;
      w.send(req('WORK_FAIL', handle2), req('ECHO_REQ', 'x'));
      await w.more(1);
      await plain.more(1);
      w.send(
        req('WORK_COMPLETE', handle2, 'late'),
        req('WORK_FAIL', handle2),
        req('WORK_DATA', 'H:nope:9', 'x'),
        req('WORK_WARNING', 'H:nope:9', 'x'),
        req('WORK_STATUS', 'H:nope:9', '1', '2'),
        req('WORK_EXCEPTION', 'H:nope:9', 'x'),
      );
      await w.more(6);
      for (const p of [plain, asked, w]) p.close();
      return { plain: plain.replies, asked: asked.replies, worker: w.replies };
    });
    expect(t.plain).toContain('WORK_FAIL "H#1\\u0000"');
    expect(t.asked).toContain('WORK_EXCEPTION "H#1" "boom"');
  });

  it('priorities within a function, most recently registered function first', async () => {
    await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      c.send(
        req('SUBMIT_JOB_LOW_BG', 'pr', '', 'low1'),
        req('SUBMIT_JOB_BG', 'pr', '', 'norm1'),
        req('SUBMIT_JOB_HIGH_BG', 'pr', '', 'high1'),
        req('SUBMIT_JOB_LOW_BG', 'pr', '', 'low2'),
        req('SUBMIT_JOB_BG', 'pr', '', 'norm2'),
        req('SUBMIT_JOB_HIGH_BG', 'pr', '', 'high2'),
        req('SUBMIT_JOB_LOW_BG', 'pA', '', 'A-low'),
        req('SUBMIT_JOB_BG', 'pA', '', 'A-norm'),
        req('SUBMIT_JOB_HIGH_BG', 'pB', '', 'B-high'),
      );
      await c.more(9);
      const w = await RawPeer.connect(port);
      w.send(req('CAN_DO', 'pr'), ...Array.from({ length: 6 }, () => req('GRAB_JOB')));
      await w.more(6);
      const w2 = await RawPeer.connect(port);
      w2.send(req('CAN_DO', 'pA'), req('CAN_DO', 'pB'), req('GRAB_JOB'), req('GRAB_JOB'), req('GRAB_JOB'), req('GRAB_JOB'));
      await w2.more(4);
      for (const p of [c, w, w2]) p.close();
      return { w: w.replies.map((r) => r.split(' ').pop()!), w2: w2.replies };
    });
  });

  it('maxqueue refuses past the limit; cancel job fails the waiting client', async () => {
    await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      const a = await RawPeer.connect(port);
      c.send(req('SUBMIT_JOB_BG', 'mq', '', '1'));
      await c.more(1);
      const out: Reply[] = [...(await a.admin('maxqueue mq 2'))];
      c.send(req('SUBMIT_JOB_BG', 'mq', '', '2'), req('SUBMIT_JOB_BG', 'mq', '', '3'), req('SUBMIT_JOB', 'mq', '', '4'));
      await c.more(3);
      out.push(...(await a.admin('maxqueue mq')));
      c.send(req('SUBMIT_JOB', 'mq', '', 'fg'));
      const [created] = await c.more(1);
      const handle = JSON.parse(created!.split(' ')[1]!) as string;
      out.push(...(await a.admin(`cancel job ${handle}`)));
      await c.more(1);
      out.push(...listing(await a.admin('show jobs')), ...listing(await a.admin('status')));
      c.close();
      a.close();
      return { client: c.replies, admin: out };
    });
  });

  it('a client that leaves before its job runs: the job is ignored, the next worker gets NO_JOB', async () => {
    await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      const a = await RawPeer.connect(port);
      c.send(req('SUBMIT_JOB', 'gone', '', 'x'));
      await c.more(1);
      c.close();
      const out: Reply[] = [];
      // Wait until the server has seen the close (the job shows as ignored).
      for (let i = 0; i < 200; i++) {
        const rows = await a.admin('show jobs');
        if (rows.some((r) => r.endsWith('\\t0\\t1\\t0\\n"'))) {
          out.push(...listing(rows));
          break;
        }
      }
      const w = await RawPeer.connect(port);
      w.send(req('CAN_DO', 'gone'), req('GRAB_JOB'), req('GRAB_JOB'));
      await w.more(2);
      out.push(...listing(await a.admin('status')));
      a.close();
      w.close();
      return { admin: out, worker: w.replies };
    });
  });

  it('a worker that disconnects mid-job: re-queued silently with status reset, the next worker completes it', async () => {
    await expectSame(async (port) => {
      const c = await RawPeer.connect(port);
      const a = await RawPeer.connect(port);
      const w1 = await RawPeer.connect(port);
      w1.send(req('CAN_DO', 'lost'), req('ECHO_REQ', 'x'));
      await w1.more(1);
      c.send(req('SUBMIT_JOB', 'lost', 'u-lost', 'payload'));
      const [created] = await c.more(1);
      const handle = JSON.parse(created!.split(' ')[1]!) as string;
      w1.send(req('GRAB_JOB'));
      await w1.more(1);
      w1.send(req('WORK_STATUS', handle, '5', '9'));
      await c.more(1);
      c.send(req('GET_STATUS', handle));
      await c.more(1);
      w1.close();
      const out: Reply[] = [];
      for (let i = 0; i < 200; i++) {
        const rows = await a.admin('show jobs');
        if (rows.some((r) => r.includes('\\t1\\t0\\t0\\n'))) {
          out.push(...listing(rows));
          break;
        }
      }
      c.send(req('GET_STATUS', handle));
      await c.more(1);
      const w2 = await RawPeer.connect(port);
      w2.send(req('CAN_DO', 'lost'), req('GRAB_JOB'));
      await w2.more(1);
      w2.send(req('WORK_COMPLETE', handle, 'second worker'));
      await c.more(1);
      for (const p of [c, a, w2]) p.close();
      return { client: c.replies, admin: out, w1: w1.replies, w2: w2.replies };
    });
  });

  it('SET_CLIENT_ID is cut to 127 bytes; epoch jobs in the past run at once; a job on another worker is not yours', async () => {
    await expectSame(async (port) => {
      const w = await RawPeer.connect(port);
      const other = await RawPeer.connect(port);
      const c = await RawPeer.connect(port);
      const a = await RawPeer.connect(port);
      w.send(req('SET_CLIENT_ID', 'id '.repeat(60)), req('CAN_DO', 'ep'), req('ECHO_REQ', 'x'));
      await w.more(1);
      c.send(req('SUBMIT_JOB_EPOCH', 'ep', '', '1', 'past'), req('SUBMIT_JOB_EPOCH', 'ep', '', 'soon', 'not a number'));
      await c.more(2);
      w.send(req('GRAB_JOB'), req('GRAB_JOB'));
      const [first] = await w.more(2);
      const handle = JSON.parse(first!.split(' ')[1]!) as string;
      other.send(req('WORK_COMPLETE', handle, 'not mine'));
      await other.more(1);
      const out = listing(await a.admin('workers')).filter((r) => r.includes('ep'));
      for (const p of [w, other, c, a]) p.close();
      return { worker: w.replies, other: other.replies, client: c.replies, workers: out };
    });
  });
});
