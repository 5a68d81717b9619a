// The admin text codec (lib/protocol/admin.ts) on lines taken from gearmand 1.1.20's real output
// (shared/reference/protocol.md §3.2, and listings captured from a running gearmand).
import { describe, expect, it } from 'vitest';
import {
  MAX_ADMIN_LINE_BYTES,
  adminLine,
  checkAdminHandle,
  checkAdminInteger,
  isErrLine,
  parseErrLine,
  parseJobs,
  parsePriorityStatus,
  parseStatus,
  parseUniqueJobs,
  parseWorkers,
  stripOk,
} from '../../lib/protocol/admin.js';
import { GearmanError, InvalidArgumentError, ProtocolError, ServerError } from '../../lib/errors.js';

describe('parseStatus', () => {
  it('reads the transcript rows as numbers', () => {
    expect(parseStatus(['email\t1\t1\t1', 'resize\t3\t0\t1'])).toEqual([
      { task: 'email', queued: 1, running: 1, workers: 1 },
      { task: 'resize', queued: 3, running: 0, workers: 1 },
    ]);
  });

  it('keeps task names with spaces or colons (the fields are tab-separated)', () => {
    expect(parseStatus([':\t0\t0\t1', 'two words\t4\t0\t0'])).toEqual([
      { task: ':', queued: 0, running: 0, workers: 1 },
      { task: 'two words', queued: 4, running: 0, workers: 0 },
    ]);
  });

  it('returns no rows for an empty listing', () => {
    expect(parseStatus([])).toEqual([]);
  });

  it('reads each row from the right: a task name with a tab comes back whole', () => {
    // gearmand 1.1.20 printed these for jobs another library submitted to 'tab\ttask' and 'x\t5'.
    expect(parseStatus(['tab\ttask\t1\t0\t0', 'x\t5\t2\t0\t1', 'email\t1\t1\t1\t1'])).toEqual([
      { task: 'tab\ttask', queued: 1, running: 0, workers: 0 },
      { task: 'x\t5', queued: 2, running: 0, workers: 1 },
      { task: 'email\t1', queued: 1, running: 1, workers: 1 },
    ]);
  });

  it('joins the lines of a task name with line breaks, "." lines included', () => {
    // gearmand 1.1.20 printed 'nl\n.\nx\t1\t0\t0\n' for a function named 'nl\n.\nx'.
    expect(parseStatus(['nl', '.', 'x\t1\t0\t0', 'plain\t2\t0\t0', 'end', '\t0\t0\t1'])).toEqual([
      { task: 'nl\n.\nx', queued: 1, running: 0, workers: 0 },
      { task: 'plain', queued: 2, running: 0, workers: 0 },
      { task: 'end\n', queued: 0, running: 0, workers: 1 },
    ]);
  });

  it('rejects lines that no row completes', () => {
    expect(() => parseStatus(['email\t1\t1'])).toThrow(ProtocolError);
    expect(() => parseStatus(['email\tone\t1\t1'])).toThrow(/expected a name and 3 tab-separated integers, got "email\\tone\\t1\\t1"/);
    expect(() => parseStatus(['email\t1\t\t1'])).toThrow(ProtocolError);
    expect(() => parseStatus(['email\t1\t0\t1', 'dangling'])).toThrow(/got "dangling"/);
  });
});

describe('parsePriorityStatus', () => {
  it('reads the transcript rows: HIGH, NORMAL, LOW, WORKERS', () => {
    expect(parsePriorityStatus(['email\t0\t0\t0\t1', 'resize\t1\t2\t0\t1'])).toEqual([
      { task: 'email', high: 0, normal: 0, low: 0, workers: 1 },
      { task: 'resize', high: 1, normal: 2, low: 0, workers: 1 },
    ]);
  });

  it('reads rows from the right as status does', () => {
    expect(parsePriorityStatus(['tab\ttask\t0\t1\t0\t0', 'nl', '.', 'x\t0\t1\t0\t0'])).toEqual([
      { task: 'tab\ttask', high: 0, normal: 1, low: 0, workers: 0 },
      { task: 'nl\n.\nx', high: 0, normal: 1, low: 0, workers: 0 },
    ]);
    expect(() => parsePriorityStatus(['email\t1\t1\t1'])).toThrow(/expected a name and 4 tab-separated integers/);
  });
});

describe('parseWorkers', () => {
  it('reads the transcript rows: client id, and tasks most recently registered first', () => {
    expect(parseWorkers(['38 127.0.0.1 worker-1 : email resize', '39 127.0.0.1 - :', '40 127.0.0.1 - :'])).toEqual([
      { fileDescriptor: '38', ip: '127.0.0.1', clientId: 'worker-1', tasks: ['email', 'resize'] },
      { fileDescriptor: '39', ip: '127.0.0.1', clientId: '-', tasks: [] },
      { fileDescriptor: '40', ip: '127.0.0.1', clientId: '-', tasks: [] },
    ]);
  });

  // Each line below was printed by gearmand 1.1.20 for a connection that sent SET_CLIENT_ID with
  // the id shown, then CAN_DO fa and CAN_DO fb.
  it.each([
    ['38 127.0.0.1 worker 1 : fb fa', 'worker 1'],
    ['37 127.0.0.1  : fb fa', ''],
    ['39 127.0.0.1 trail  : fb fa', 'trail '],
    ['40 127.0.0.1 a : b : fb fa', 'a : b'],
    ['42 127.0.0.1 : : fb fa', ':'],
    ['41 127.0.0.1 x : fb fa', 'x'],
  ])('reads client ids with spaces, colons or nothing: %j', (line, clientId) => {
    const [row] = parseWorkers([line]);
    expect(row).toEqual({ fileDescriptor: line.split(' ')[0], ip: '127.0.0.1', clientId, tasks: ['fb', 'fa'] });
  });

  it('reads a line whose client id field is missing as an empty id', () => {
    expect(parseWorkers(['37 127.0.0.1 : fb'])).toEqual([{ fileDescriptor: '37', ip: '127.0.0.1', clientId: '', tasks: ['fb'] }]);
  });

  it('reads an IPv6 peer address', () => {
    expect(parseWorkers(['12 ::1 - : f'])).toEqual([{ fileDescriptor: '12', ip: '::1', clientId: '-', tasks: ['f'] }]);
  });

  it('reads a client id with a line break (joined with the next line)', () => {
    expect(parseWorkers(['38 127.0.0.1 two', 'lines : fa', '39 127.0.0.1 - :'])).toEqual([
      { fileDescriptor: '38', ip: '127.0.0.1', clientId: 'two\nlines', tasks: ['fa'] },
      { fileDescriptor: '39', ip: '127.0.0.1', clientId: '-', tasks: [] },
    ]);
  });

  it("what the protocol cannot tell apart: a task named ':' and task names with spaces", () => {
    // gearmand 1.1.20 printed this for client id 'my id : with colon', CAN_DO 'sp ace' then ':'.
    expect(parseWorkers(['38 127.0.0.1 my id : with colon : : sp ace'])).toEqual([
      { fileDescriptor: '38', ip: '127.0.0.1', clientId: 'my id : with colon :', tasks: ['sp', 'ace'] },
    ]);
  });

  it('rejects lines that no row completes', () => {
    expect(() => parseWorkers(['38'])).toThrow(ProtocolError);
    expect(() => parseWorkers(['38 127.0.0.1'])).toThrow(ProtocolError);
    expect(() => parseWorkers(['38 127.0.0.1 worker-1 email'])).toThrow(/no 'FD IP CLIENT_ID :' fields in "38 127.0.0.1 worker-1 email"/);
    expect(() => parseWorkers(['38 127.0.0.1 worker-1:email'])).toThrow(ProtocolError);
  });
});

describe('parseJobs', () => {
  it('reads the transcript rows with gearmand 1.1 columns as numbers', () => {
    expect(parseJobs(['H:vm:1\t0\t0\t1', 'H:vm:2\t0\t0\t1', 'H:vm:4\t0\t1\t0', 'H:vm:3\t2\t0\t1'])).toEqual([
      { handle: 'H:vm:1', retries: 0, ignored: 0, stored: 1 },
      { handle: 'H:vm:2', retries: 0, ignored: 0, stored: 1 },
      { handle: 'H:vm:4', retries: 0, ignored: 1, stored: 0 },
      { handle: 'H:vm:3', retries: 2, ignored: 0, stored: 1 },
    ]);
  });

  it("uses none of python-gearman's names for these columns (queued, canceled, enabled)", () => {
    const [row] = parseJobs(['H:vm:1\t3\t1\t0']);
    expect(Object.keys(row!).sort()).toEqual(['handle', 'ignored', 'retries', 'stored']);
  });

  it('rejects malformed rows', () => {
    expect(() => parseJobs(['H:vm:1 0 0 1'])).toThrow(ProtocolError);
    expect(() => parseJobs(['H:vm:1\t0\tx\t1'])).toThrow(ProtocolError);
  });
});

describe('parseUniqueJobs', () => {
  it('keeps the empty lines of jobs submitted without a unique', () => {
    const lines = ['', 'img-1', 'img-2', 'img-3'];
    const parsed = parseUniqueJobs(lines);
    expect(parsed).toEqual(['', 'img-1', 'img-2', 'img-3']);
    expect(parsed).not.toBe(lines);
  });
});

describe('ERR lines', () => {
  it('decodes the code and the +-encoded text', () => {
    const error = parseErrLine('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown', "127.0.0.1:4730 'shutdown'");
    expect(error).toBeInstanceOf(ServerError);
    expect(error?.code).toBe('SERVER_ERROR');
    expect(error?.serverCode).toBe('UNKNOWN_COMMAND');
    expect(error?.serverText).toBe('Unknown server commandshutdown');
    expect(error?.message).toBe("127.0.0.1:4730 'shutdown': server answered ERR UNKNOWN_COMMAND: Unknown server commandshutdown");
  });

  it('reads the other gearmand error lines of the transcript', () => {
    const maxqueue = parseErrLine('ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue', 'x');
    expect([maxqueue?.serverCode, maxqueue?.serverText]).toEqual(['INVALID_ARGUMENTS', 'An incomplete set of arguments was sent to this command maxqueue']);
    const unknownJob = parseErrLine('ERR UNKNOWN_JOB', 'x');
    expect([unknownJob?.serverCode, unknownJob?.serverText]).toEqual(['UNKNOWN_JOB', '']);
    expect(unknownJob?.message).toBe('x: server answered ERR UNKNOWN_JOB');
    const drop = parseErrLine('ERR function not found', 'x');
    expect([drop?.serverCode, drop?.serverText]).toEqual(['function', 'not found']);
  });

  it("reads the Perl server's error line (lower case, trailing space)", () => {
    const error = parseErrLine('ERR unknown_command ', 'x');
    expect([error?.serverCode, error?.serverText]).toEqual(['unknown_command', '']);
  });

  it('returns undefined for lines that are not errors', () => {
    expect(parseErrLine('OK', 'x')).toBeUndefined();
    expect(parseErrLine('OK 1.1.20+ds', 'x')).toBeUndefined();
    expect(parseErrLine('ERRATA', 'x')).toBeUndefined();
    expect(parseErrLine('', 'x')).toBeUndefined();
  });

  it('recognises a listing error only in the shape servers send', () => {
    expect(isErrLine('ERR UNKNOWN_COMMAND Unknown+server+commandshow', true)).toBe(true);
    expect(isErrLine('ERR unknown_command ', true)).toBe(true);
    expect(isErrLine('ERR UNKNOWN_SHOW_ARGUMENTS', true)).toBe(true);
    // Rows a listing can hold: a status row of a function named "ERR x", a unique with spaces.
    expect(isErrLine('ERR x\t1\t0\t1', true)).toBe(false);
    expect(isErrLine('ERR is a word here', true)).toBe(false);
    expect(isErrLine('ERR', true)).toBe(false);
    // One-line answers: any ERR line.
    expect(isErrLine('ERR there are still connected workers or executing clients')).toBe(true);
    expect(isErrLine('ERR')).toBe(true);
    expect(isErrLine('OK')).toBe(false);
  });
});

describe('stripOk', () => {
  it("strips gearmand's OK prefix and leaves other answers alone", () => {
    expect(stripOk('OK 1.1.20+ds')).toBe('1.1.20+ds');
    expect(stripOk('OK 12876')).toBe('12876');
    expect(stripOk('OK')).toBe('');
    expect(stripOk('v1.130.1')).toBe('v1.130.1');
  });
});

describe('command arguments', () => {
  it('accepts handles the text protocol carries', () => {
    expect(checkAdminHandle('H:vm:42', 'cancelJob')).toBe('H:vm:42');
    expect(checkAdminHandle('H:hôte-ü:1', 'cancelJob')).toBe('H:hôte-ü:1');
    expect(checkAdminHandle('h'.repeat(63), 'cancelJob')).toHaveLength(63);
  });

  it.each([['two words'], ['line\nbreak'], ['cr\r'], ['tab\there'], ['nul\0'], [' lead'], ['trail '], ['del\x7f']])(
    'rejects the handle %j with an InvalidArgumentError naming the call',
    (value) => {
      expect(() => checkAdminHandle(value, 'cancelJob')).toThrow(InvalidArgumentError);
      expect(() => checkAdminHandle(value, 'cancelJob')).toThrow(/^cancelJob: handle ".*" contains whitespace, NUL or a control character/s);
    },
  );

  it('rejects empty, overlong and non-string handles', () => {
    expect(() => checkAdminHandle('', 'cancelJob')).toThrow(/^cancelJob: handle must be a non-empty string, got string ""$/);
    expect(() => checkAdminHandle(42, 'cancelJob')).toThrow(/^cancelJob: handle must be a non-empty string, got number 42$/);
    expect(() => checkAdminHandle('h'.repeat(64), 'cancelJob')).toThrow(/handle is 64 bytes; gearmand's handles are at most 63/);
    try {
      checkAdminHandle(undefined, 'cancelJob');
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      expect(err).toBeInstanceOf(GearmanError);
      expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('accepts integers only for sizes', () => {
    expect(checkAdminInteger(10, 'maxSize', 'sendMaxqueue')).toBe('10');
    expect(checkAdminInteger(0, 'maxSize', 'sendMaxqueue')).toBe('0');
    expect(checkAdminInteger(-1, 'maxSize', 'sendMaxqueue')).toBe('-1');
    for (const bad of [1.5, Number.NaN, Infinity, 2 ** 60, '3', null]) {
      expect(() => checkAdminInteger(bad, 'maxSize', 'sendMaxqueue')).toThrow(InvalidArgumentError);
      expect(() => checkAdminInteger(bad, 'maxSize', 'sendMaxqueue')).toThrow(/^sendMaxqueue: maxSize must be an integer/);
    }
  });

  it('ends lines with \\r\\n as gearadmin does, and refuses lines gearmand would not read', () => {
    expect(adminLine('maxqueue', 'resize', '10')).toBe('maxqueue resize 10\r\n');
    expect(adminLine('status')).toBe('status\r\n');
    const fits = 'x'.repeat(MAX_ADMIN_LINE_BYTES - 'cancel job '.length - 2);
    expect(Buffer.byteLength(adminLine('cancel', 'job', fits))).toBe(MAX_ADMIN_LINE_BYTES);
    expect(() => adminLine('cancel', 'job', fits + 'x')).toThrow(/at most 8192/);
    // Counted in bytes, not characters.
    expect(() => adminLine('cancel', 'job', 'é'.repeat(4096))).toThrow(InvalidArgumentError);
  });
});
