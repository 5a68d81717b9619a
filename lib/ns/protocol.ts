/**
 * The `protocol` namespace: the packet table, the binary encoder and decoder, and the admin text
 * codec.
 * @module
 */
export { CommandType, COMMANDS, MAGIC_REQ, MAGIC_RES, HEADER_SIZE, MAX_COMMAND_TYPE, commandName, commandSpec } from '../protocol/commands.js';
export type { CommandName, CommandSpec, PacketDirection, PacketSide } from '../protocol/commands.js';
export { encodePacket, MAX_UNIQUE_BYTES, MAX_HANDLE_BYTES, SERVER_BUFFER_BYTES } from '../protocol/encoder.js';
export type { PacketArg } from '../protocol/encoder.js';
export { PacketDecoder } from '../protocol/decoder.js';
export type { PacketArgs, PacketSink, PacketDecoderOptions } from '../protocol/decoder.js';
export { parseErrLine, parseStatus, parseWorkers, parseJobs, stripOk } from '../protocol/admin.js';
export type { StatusRow, WorkerRow, JobRow, AdminResponseKind } from '../protocol/admin.js';
