// Encoder validation (each bad argument is a ProtocolError before any byte is produced) and the
// PacketWriter, which must produce exactly encodePacket's bytes.
import { describe, expect, it } from 'vitest';
import { COMMANDS, CommandType, MAGIC_REQ, MAGIC_RES } from '../../lib/protocol/commands.js';
import { encodePacket, PacketWriter, MAX_HANDLE_BYTES, MAX_UNIQUE_BYTES, SERVER_BUFFER_BYTES, type PacketArg } from '../../lib/protocol/encoder.js';
import { ProtocolError } from '../../lib/errors.js';
import { binary, packet, req } from '../helpers/packets.js';

const T = CommandType;
const SUBMITS = [T.SUBMIT_JOB, T.SUBMIT_JOB_BG, T.SUBMIT_JOB_HIGH, T.SUBMIT_JOB_HIGH_BG, T.SUBMIT_JOB_LOW, T.SUBMIT_JOB_LOW_BG];

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('PROTOCOL_ERROR');
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

describe('encodePacket validation', () => {
  it('rejects a NUL in any argument but the last, as text or bytes', () => {
    expect(protocolError(() => encodePacket(T.SUBMIT_JOB, ['rev\0erse', '', 'x'])).message).toMatch(/SUBMIT_JOB argument task must not contain a NUL byte/);
    expect(protocolError(() => encodePacket(T.SUBMIT_JOB_BG, ['reverse', 'u\0', 'x'])).message).toMatch(/argument unique must not contain a NUL/);
    expect(protocolError(() => encodePacket(T.WORK_COMPLETE, [Buffer.from('H:1\0'), 'x'])).message).toMatch(/WORK_COMPLETE argument handle must not contain a NUL/);
    expect(protocolError(() => encodePacket(T.WORK_STATUS, ['H:1', '1\0', '2'])).message).toMatch(/argument numerator/);
    expect(protocolError(() => encodePacket(T.CAN_DO_TIMEOUT, [new Uint8Array([102, 0]), '10'])).message).toMatch(/argument task/);
  });

  it('accepts NUL bytes in the last argument', () => {
    const data = Buffer.from([0, 1, 0]);
    expect(encodePacket(T.SUBMIT_JOB, ['t', 'u', data]).equals(req('SUBMIT_JOB', 't', 'u', data))).toBe(true);
    expect(encodePacket(T.ECHO_REQ, ['\0\0']).equals(req('ECHO_REQ', '\0\0'))).toBe(true);
  });

  it('limits a unique to 63 bytes (counted in UTF-8 bytes) on every submission and GET_STATUS_UNIQUE', () => {
    expect(MAX_UNIQUE_BYTES).toBe(63);
    const ok = ['u'.repeat(63), 'é'.repeat(31) + 'u', Buffer.alloc(63, 0x41)];
    const tooLong = ['u'.repeat(64), 'é'.repeat(32), Buffer.alloc(64, 0x41)];
    for (const type of SUBMITS) {
      for (const unique of ok) expect(() => encodePacket(type, ['t', unique, 'x'])).not.toThrow();
      for (const unique of tooLong) {
        expect(protocolError(() => encodePacket(type, ['t', unique, 'x'])).message).toMatch(/unique is 64 bytes; gearmand keeps at most 63/);
      }
    }
    expect(() => encodePacket(T.SUBMIT_JOB_EPOCH, ['t', 'u'.repeat(63), '0', 'x'])).not.toThrow();
    expect(() => encodePacket(T.SUBMIT_JOB_EPOCH, ['t', 'u'.repeat(64), '0', 'x'])).toThrow(ProtocolError);
    expect(() => encodePacket(T.GET_STATUS_UNIQUE, ['u'.repeat(63)])).not.toThrow();
    expect(protocolError(() => encodePacket(T.GET_STATUS_UNIQUE, ['u'.repeat(64)])).message).toMatch(/GET_STATUS_UNIQUE: unique is 64 bytes/);
  });

  it('limits a GET_STATUS handle to 63 bytes', () => {
    expect(MAX_HANDLE_BYTES).toBe(63);
    expect(encodePacket(T.GET_STATUS, ['H'.repeat(63)]).equals(req('GET_STATUS', 'H'.repeat(63)))).toBe(true);
    expect(protocolError(() => encodePacket(T.GET_STATUS, ['H'.repeat(64)])).message).toMatch(/GET_STATUS: handle is 64 bytes/);
    expect(() => encodePacket(T.GET_STATUS, ['é'.repeat(32)])).toThrow(ProtocolError);
  });

  it('keeps the header and non-data arguments within gearmand\'s 8 KiB receive buffer', () => {
    expect(SERVER_BUFFER_BYTES).toBe(8192);
    expect(() => encodePacket(T.CAN_DO, ['f'.repeat(8000)])).not.toThrow();
    expect(protocolError(() => encodePacket(T.CAN_DO, ['f'.repeat(9000)])).message).toMatch(/CAN_DO: its non-data arguments take 9013 bytes; gearmand closes the connection over 8192/);
    expect(protocolError(() => encodePacket(T.SUBMIT_JOB_BG, ['f'.repeat(9000), '', 'x'])).message).toMatch(/SUBMIT_JOB_BG: its non-data arguments take/);
    // Counted in bytes: 3000 two-byte characters fit, 4500 do not.
    expect(() => encodePacket(T.SET_CLIENT_ID, ['é'.repeat(3000)])).not.toThrow();
    expect(() => encodePacket(T.SET_CLIENT_ID, ['é'.repeat(4500)])).toThrow(ProtocolError);
    // Text that looks long by the 3-bytes-per-char estimate but is short in bytes.
    expect(() => encodePacket(T.CAN_DO, ['a'.repeat(5000)])).not.toThrow();
    // Several arguments add up; data does not count.
    expect(() => encodePacket(T.WORK_STATUS, ['h'.repeat(4000), '1'.repeat(4000), '2'.repeat(500)])).toThrow(ProtocolError);
    expect(() => encodePacket(T.SUBMIT_JOB, ['t', 'u', Buffer.alloc(1024 * 1024)])).not.toThrow();
  });

  it('requires the exact argument count', () => {
    expect(protocolError(() => encodePacket(T.SUBMIT_JOB, ['t', 'x'])).message).toMatch(/SUBMIT_JOB takes 3 argument\(s\) \(task, unique, data\), got 2/);
    expect(protocolError(() => encodePacket(T.NOOP, ['x'])).message).toMatch(/NOOP takes 0 argument\(s\)/);
    expect(protocolError(() => encodePacket(T.ECHO_REQ, [])).message).toMatch(/ECHO_REQ takes 1 argument/);
    expect(protocolError(() => encodePacket(T.STATUS_RES, ['h', '1', '0', '0', '0', '0'])).message).toMatch(/got 6/);
  });

  it('requires strings or bytes', () => {
    const bad: unknown[] = [42, null, undefined, true, { toString: () => 'x' }, ['x'], 10n];
    for (const value of bad) {
      const error = protocolError(() => encodePacket(T.SUBMIT_JOB, ['t', 'u', value as PacketArg]));
      expect(error.message).toMatch(/SUBMIT_JOB argument data must be a string or bytes, got /);
    }
    expect(protocolError(() => encodePacket(T.SUBMIT_JOB, [7 as unknown as string, 'u', 'x'])).message).toMatch(/argument task must be a string or bytes, got number/);
    expect(protocolError(() => encodePacket(T.GET_STATUS, [null as unknown as string])).message).toMatch(/got null/);
  });

  it('refuses types that are not in the table', () => {
    for (const type of [0, 5, 43, 0xffffffff, 7.5, -1]) {
      expect(protocolError(() => encodePacket(type, [])).message).toMatch(new RegExp(`cannot encode packet type ${type}`));
    }
  });

  it('sizes the packet in bytes, not characters', () => {
    const p = encodePacket(T.SUBMIT_JOB, ['tâsk', 'ü', '€'], MAGIC_REQ);
    expect(p.readUInt32BE(8)).toBe(Buffer.byteLength('tâsk\0ü\0€'));
    expect(p.equals(req('SUBMIT_JOB', 'tâsk', 'ü', '€'))).toBe(true);
  });

  it('accepts plain Uint8Array arguments', () => {
    const data = new Uint8Array([1, 2, 0, 3]);
    expect(encodePacket(T.WORK_DATA, [new Uint8Array([72, 58, 49]), data]).equals(req('WORK_DATA', 'H:1', data))).toBe(true);
  });
});

describe('PacketWriter', () => {
  /** One sample packet per type, with data large enough to make the writer grow. */
  function samples(): Array<[number, PacketArg[]]> {
    const out: Array<[number, PacketArg[]]> = [];
    for (const spec of COMMANDS) {
      if (spec === undefined) continue;
      out.push([spec.type, spec.args.map((name, i) => (i === spec.args.length - 1 && spec.binaryLast ? binary(100 * spec.type, spec.type) : `${name}-ü${spec.type}`))]);
    }
    return out;
  }

  it('writes exactly the bytes of encodePacket, growing from a tiny buffer', () => {
    const writer = new PacketWriter(16);
    const expected: Buffer[] = [];
    for (const [type, args] of samples()) {
      for (const magic of [MAGIC_REQ, MAGIC_RES]) {
        writer.writePacket(type, args, magic);
        expected.push(encodePacket(type, args, magic));
      }
    }
    const all = Buffer.concat(expected);
    expect(writer.length).toBe(all.length);
    expect(writer.take().equals(all)).toBe(true);
    expect(writer.length).toBe(0);
  });

  it('defaults to \\0REQ and interleaves raw text lines', () => {
    const writer = new PacketWriter();
    writer.writeRaw('status\r\n');
    writer.writePacket(T.ECHO_REQ, ['ping? pong!']);
    writer.writeRaw(Buffer.from('vérsion\r\n'));
    expect(writer.take().equals(Buffer.concat([Buffer.from('status\r\n'), req('ECHO_REQ', 'ping? pong!'), Buffer.from('vérsion\r\n')]))).toBe(true);
  });

  it('appends nothing for an invalid packet and goes on', () => {
    const writer = new PacketWriter(64);
    writer.writePacket(T.NOOP, [], MAGIC_RES);
    expect(() => writer.writePacket(T.SUBMIT_JOB, ['a\0b', '', 'x'])).toThrow(ProtocolError);
    expect(() => writer.writePacket(T.GET_STATUS, ['h'.repeat(64)])).toThrow(ProtocolError);
    expect(writer.length).toBe(12);
    writer.writePacket(T.JOB_CREATED, ['H:1'], MAGIC_RES);
    expect(writer.take().equals(Buffer.concat([packet('RES', 'NOOP'), packet('RES', 'JOB_CREATED', ['H:1'])]))).toBe(true);
  });

  it('hands over buffers the caller owns: later writes do not change what was taken', () => {
    const writer = new PacketWriter(32);
    writer.writePacket(T.ECHO_REQ, ['small']);
    const small = writer.take();
    const big = binary(10_000, 1);
    writer.writePacket(T.ECHO_REQ, [big]);
    const large = writer.take();
    writer.writePacket(T.ECHO_REQ, ['overwrite-overwrite']);
    writer.writePacket(T.ECHO_REQ, [Buffer.alloc(10_000, 0xee)]);
    expect(small.equals(req('ECHO_REQ', 'small'))).toBe(true);
    expect(large.equals(req('ECHO_REQ', big))).toBe(true);
  });

  it('clear() drops what was written', () => {
    const writer = new PacketWriter();
    writer.writePacket(T.GRAB_JOB_UNIQ, []);
    writer.clear();
    expect(writer.length).toBe(0);
    writer.writePacket(T.PRE_SLEEP, []);
    expect(writer.take().equals(req('PRE_SLEEP'))).toBe(true);
  });
});
