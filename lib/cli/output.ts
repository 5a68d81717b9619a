/**
 * Output: where lines go, how errors read, JSON lines, and the exit code an error maps to.
 *
 * @module
 * @internal
 */
import { isUtf8 } from 'node:buffer';
import { GearmanError, ServerError, ServerUnavailable, ConnectionError, InvalidAdminClientState } from '../index.js';
import { EXIT, UsageError } from './args.js';

/** The streams a command writes to; specs and `top` may swap them. @internal */
export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

/** The process's own streams. @internal */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Writes `text` and resolves once it is flushed (so an exit right after loses nothing). @internal */
export function write(stream: NodeJS.WritableStream, text: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.write(text)) stream.once('drain', resolve);
    else resolve();
  });
}

/** A message for an error, without a stack, naming its code where it has one. @internal */
export function describeError(err: unknown): string {
  if (err instanceof ServerError) return `server error ${err.serverCode}: ${err.serverText}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The exit code an error thrown by a command maps to. @internal */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof ServerUnavailable || err instanceof ConnectionError || err instanceof InvalidAdminClientState) return EXIT.UNAVAILABLE;
  if (err instanceof TypeError) return EXIT.USAGE;
  if (err instanceof GearmanError) return EXIT.FAILED;
  return EXIT.FAILED;
}

/** Job data or a result as text for JSON: UTF-8 when it is, else base64 (flagged). @internal */
export function payloadFields(name: string, value: unknown): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { [name]: value };
  const buf = Buffer.isBuffer(value) ? value : value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value));
  if (isUtf8(buf)) return { [name]: buf.toString('utf8') };
  return { [`${name}Base64`]: buf.toString('base64') };
}

/** A payload as a printable string (for stderr lines and tables). @internal */
export function payloadText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  const buf = Buffer.isBuffer(value) ? value : value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value));
  return isUtf8(buf) ? buf.toString('utf8') : `<${buf.length} bytes>`;
}

/** Reads a whole stream into one Buffer. @internal */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
