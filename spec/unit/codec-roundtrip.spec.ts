// Every packet type of the table round-trips encode -> decode under both magics, and the encoder's
// bytes match the independent builder of spec/helpers/packets.ts.
import { describe, expect, it } from 'vitest';
import { COMMANDS, CommandType, MAGIC_REQ, MAGIC_RES, MAX_COMMAND_TYPE, commandName, commandSpec, type CommandSpec } from '../../lib/protocol/commands.js';
import { encodePacket, type PacketArg } from '../../lib/protocol/encoder.js';
import { ProtocolError } from '../../lib/errors.js';
import { binary, decodeChunks, packet, pkt, render, type Decoded } from '../helpers/packets.js';

// From protocol.md section 2: argument count (NUL args + 1, or 0) and whether the last argument
// is free-form data ("+data"), written out here rather than read back from lib/.
const EXPECTED: Record<number, [name: string, argCount: number, data: boolean]> = {
  1: ['CAN_DO', 1, false],
  2: ['CANT_DO', 1, false],
  3: ['RESET_ABILITIES', 0, false],
  4: ['PRE_SLEEP', 0, false],
  6: ['NOOP', 0, false],
  7: ['SUBMIT_JOB', 3, true],
  8: ['JOB_CREATED', 1, false],
  9: ['GRAB_JOB', 0, false],
  10: ['NO_JOB', 0, false],
  11: ['JOB_ASSIGN', 3, true],
  12: ['WORK_STATUS', 3, false],
  13: ['WORK_COMPLETE', 2, true],
  14: ['WORK_FAIL', 1, false],
  15: ['GET_STATUS', 1, false],
  16: ['ECHO_REQ', 1, true],
  17: ['ECHO_RES', 1, true],
  18: ['SUBMIT_JOB_BG', 3, true],
  19: ['ERROR', 2, false],
  20: ['STATUS_RES', 5, false],
  21: ['SUBMIT_JOB_HIGH', 3, true],
  22: ['SET_CLIENT_ID', 1, false],
  23: ['CAN_DO_TIMEOUT', 2, false],
  24: ['ALL_YOURS', 0, false],
  25: ['WORK_EXCEPTION', 2, true],
  26: ['OPTION_REQ', 1, false],
  27: ['OPTION_RES', 1, false],
  28: ['WORK_DATA', 2, true],
  29: ['WORK_WARNING', 2, true],
  30: ['GRAB_JOB_UNIQ', 0, false],
  31: ['JOB_ASSIGN_UNIQ', 4, true],
  32: ['SUBMIT_JOB_HIGH_BG', 3, true],
  33: ['SUBMIT_JOB_LOW', 3, true],
  34: ['SUBMIT_JOB_LOW_BG', 3, true],
  35: ['SUBMIT_JOB_SCHED', 8, true],
  36: ['SUBMIT_JOB_EPOCH', 4, true],
  37: ['SUBMIT_REDUCE_JOB', 5, true],
  38: ['SUBMIT_REDUCE_JOB_BACKGROUND', 5, true],
  39: ['GRAB_JOB_ALL', 0, false],
  40: ['JOB_ASSIGN_ALL', 5, true],
  41: ['GET_STATUS_UNIQUE', 1, false],
  42: ['STATUS_RES_UNIQUE', 6, false],
};

const TYPES = Object.keys(EXPECTED).map(Number);
const MAGICS = [
  ['REQ', MAGIC_REQ],
  ['RES', MAGIC_RES],
] as const;

/** Sample arguments for a packet type: text arguments with non-ASCII text, data with NUL bytes. */
function sampleArgs(spec: CommandSpec, variant: 'full' | 'empty'): PacketArg[] {
  return spec.args.map((name, i) => {
    if (variant === 'empty') return '';
    const last = i === spec.args.length - 1;
    if (last && spec.binaryLast) return binary(37 + spec.type, spec.type);
    // Short enough for the unique / handle limits; non-ASCII so sizes are byte counts.
    return `${name}-é${spec.type}`;
  });
}

function expectedItem(spec: CommandSpec, args: PacketArg[]): Decoded {
  return pkt(
    spec.type,
    ...args.map((a, i) => (i === args.length - 1 && spec.binaryLast ? Buffer.from(a as Uint8Array | string) : typeof a === 'string' ? a : Buffer.from(a).toString('utf8'))),
  );
}

describe('packet table', () => {
  it('has exactly the packet types 1-42 of protocol.md, with their names, argument counts and data flags', () => {
    const defined = COMMANDS.map((spec, type) => (spec === undefined ? undefined : type)).filter((t) => t !== undefined);
    expect(defined).toEqual(TYPES);
    expect(MAX_COMMAND_TYPE).toBe(42);
    for (const type of TYPES) {
      const [name, count, data] = EXPECTED[type]!;
      const spec = commandSpec(type)!;
      expect(spec.name, `type ${type}`).toBe(name);
      expect(CommandType[spec.name]).toBe(type);
      expect(spec.args.length, name).toBe(count);
      expect(spec.binaryLast, name).toBe(data);
      expect(commandName(type)).toBe(name);
    }
  });

  it('names handler methods recv + camelCase', () => {
    expect(commandSpec(CommandType.WORK_COMPLETE)!.method).toBe('recvWorkComplete');
    expect(commandSpec(CommandType.JOB_ASSIGN_UNIQ)!.method).toBe('recvJobAssignUniq');
    expect(commandSpec(CommandType.NOOP)!.method).toBe('recvNoop');
    expect(commandSpec(CommandType.SUBMIT_REDUCE_JOB_BACKGROUND)!.method).toBe('recvSubmitReduceJobBackground');
  });

  it('has no row for 0, 5, 43 and 0xFFFFFFFF', () => {
    for (const type of [0, 5, 43, 0xffffffff]) {
      expect(commandSpec(type)).toBeUndefined();
      expect(commandName(type)).toBe(`UNKNOWN(${type})`);
    }
  });
});

describe('every packet type round-trips encode -> decode', () => {
  for (const type of TYPES) {
    const spec = commandSpec(type)!;
    for (const [magicName, magic] of MAGICS) {
      for (const variant of ['full', 'empty'] as const) {
        if (variant === 'empty' && spec.args.length === 0) continue;
        it(`${spec.name} (${type}) with \\0${magicName}, ${variant} arguments`, () => {
          const args = sampleArgs(spec, variant);
          const encoded = encodePacket(type, args, magic);
          // Byte-exact against the independent builder.
          expect(encoded.equals(packet(magicName, type, args))).toBe(true);
          expect(encoded.readUInt32BE(0)).toBe(magic);
          expect(encoded.readUInt32BE(4)).toBe(type);
          expect(encoded.readUInt32BE(8)).toBe(encoded.length - 12);

          const run = decodeChunks([encoded], { magic });
          expect(run.error).toBeUndefined();
          expect(render(run.items)).toEqual(render([expectedItem(spec, args)]));
          // Data arguments come back as bytes, every other argument as text.
          const decoded = run.items[0] as { args: Array<string | Buffer> };
          decoded.args.forEach((arg, i) => {
            const isData = i === spec.args.length - 1 && spec.binaryLast;
            expect(Buffer.isBuffer(arg), `${spec.args[i]}`).toBe(isData);
          });
        });
      }
    }
  }

  it('uses \\0REQ when no magic is given', () => {
    expect(encodePacket(CommandType.NOOP).equals(packet('REQ', 'NOOP'))).toBe(true);
    expect(encodePacket(CommandType.SUBMIT_JOB, ['reverse', '', 'test']).toString('hex')).toBe(
      // protocol.md section 1, byte-exact example
      '00524551' + '00000007' + '0000000d' + Buffer.from('reverse\0\0test').toString('hex'),
    );
  });

  it('a decoder for one magic refuses the other', () => {
    for (const [, magic] of MAGICS) {
      const other = magic === MAGIC_REQ ? MAGIC_RES : MAGIC_REQ;
      const run = decodeChunks([encodePacket(CommandType.ECHO_RES, ['x'], other)], { magic });
      expect(run.error).toBeInstanceOf(ProtocolError);
      expect(run.items).toEqual([]);
    }
  });

  it('keeps NUL bytes inside the last argument, text or data', () => {
    const fail = encodePacket(CommandType.WORK_FAIL, ['H:vm:1\0'], MAGIC_RES);
    expect(render(decodeChunks([fail]).items)).toEqual(render([pkt('WORK_FAIL', 'H:vm:1\0')]));
    const data = Buffer.from([0, 0, 1, 0]);
    const echo = encodePacket(CommandType.ECHO_RES, [data], MAGIC_RES);
    expect(render(decodeChunks([echo]).items)).toEqual(render([pkt('ECHO_RES', data)]));
  });
});
