/**
 * Host list parsing: `'host'`, `'host:port'`, `'[v6addr]:port'`, or `{ host, port?, tls? }`.
 *
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { InvalidArgumentError } from './errors.js';
import { describeValue } from './arguments.js';

/** The port gearmand listens on by default. */
export const DEFAULT_GEARMAN_PORT = 4730;

/** A server address with optional TLS settings. */
export interface HostObject {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /**
   * TCP port.
   * @default 4730
   */
  port?: number;
  /**
   * `true` for TLS with Node's defaults (server certificate and host name verified), or
   * `node:tls` connect options (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`, ...).
   * python-gearman's `keyfile`/`certfile`/`ca_certs` map to `key`/`cert`/`ca`.
   */
  tls?: true | TlsConnectionOptions;
}

/** One entry of a host list. */
export type HostEntry = string | HostObject;

/** A parsed host entry. @internal */
export interface ParsedHost {
  host: string;
  port: number;
  tls: TlsConnectionOptions | undefined;
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { code: 'INVALID_HOST' });
}

function checkPort(port: unknown, entry: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`port ${typeof port === 'number' ? String(port) : describeValue(port)} is not a TCP port (an integer from 1 to 65535), in host entry ${show(entry)}`);
  }
  return port;
}

function show(entry: unknown): string {
  try {
    return typeof entry === 'string' ? JSON.stringify(entry) : JSON.stringify(entry) ?? String(entry);
  } catch {
    return String(entry);
  }
}

/** What is wrong with a host name, or undefined. */
function hostNameProblem(host: string): string | undefined {
  if (host.length === 0) return 'the host name is empty';
  if (/\s/.test(host)) return `host name ${JSON.stringify(host)} contains whitespace`;
  const bad = /[/\\@?#]/.exec(host);
  if (bad !== null) return `host name ${JSON.stringify(host)} contains '${bad[0]}' (a URL or a path is not a host name)`;
  return undefined;
}

function checkHostName(host: string, entry: unknown): string {
  const problem = hostNameProblem(host);
  if (problem !== undefined) throw invalid(`${problem}, in host entry ${show(entry)}: expected 'host', 'host:port' or '[v6addr]:port'`);
  return host;
}

/** `scheme://rest`: a URL given where a host entry belongs. */
const URL_ENTRY = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i;

/** The error for a URL: what to write instead. */
function urlError(entry: string, scheme: string, authority: string): InvalidArgumentError {
  const hostPort = authority.replace(/^[^@]*@/, '');
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  const host = m?.[1] ?? hostPort;
  const port = m?.[2];
  const secure = /^(https|wss|tls|ssl|gearmans)$/i.test(scheme);
  const plain = port === undefined ? host : `${host}:${port}`;
  const suggestion =
    host.length === 0
      ? "write 'host' or 'host:port'"
      : secure
        ? `write { host: '${host.replace(/^\[(.*)\]$/, '$1')}'${port === undefined ? '' : `, port: ${port}`}, tls: true } for TLS, or '${plain}'`
        : `write '${plain}'`;
  return invalid(`host entry ${JSON.stringify(entry)} is a URL; a host entry is 'host', 'host:port' or '[v6addr]:port' without a scheme: ${suggestion}`);
}

/**
 * Parses one host list entry.
 *
 * @throws {@link InvalidArgumentError} (code `'INVALID_HOST'`) saying first what is wrong, then
 * naming the entry and what to write
 * @internal
 */
export function parseHost(entry: unknown): ParsedHost {
  if (typeof entry === 'string') {
    const text = entry.trim();
    const url = URL_ENTRY.exec(text);
    if (url !== null) throw urlError(entry, url[1]!, url[2]!);
    if (text.startsWith('[')) {
      const m = /^\[([0-9A-Za-z:.%_-]+)\](?::(\d+))?$/.exec(text);
      if (m === null) {
        const close = text.indexOf(']');
        const problem =
          close === -1
            ? "the '[' of an IPv6 address has no ']'"
            : close === 1
              ? 'the IPv6 address in brackets is empty'
              : text.length > close + 1 && text[close + 1] !== ':'
                ? `'${text.slice(close + 1)}' follows the ']' (expected ':port')`
                : text.length > close + 1 && !/^\d+$/.test(text.slice(close + 2))
                  ? `port ${JSON.stringify(text.slice(close + 2))} is not a number`
                  : `${JSON.stringify(text.slice(1, close))} is not an IPv6 address`;
        throw invalid(`${problem}, in host entry ${show(entry)}: expected '[v6addr]' or '[v6addr]:port'`);
      }
      return { host: m[1]!, port: m[2] === undefined ? DEFAULT_GEARMAN_PORT : checkPort(Number(m[2]), entry), tls: undefined };
    }
    const colons = text.split(':').length - 1;
    if (colons === 0) return { host: checkHostName(text, entry), port: DEFAULT_GEARMAN_PORT, tls: undefined };
    if (colons === 1) {
      const [host, port] = text.split(':') as [string, string];
      if (!/^\d+$/.test(port)) {
        throw invalid(`${port === '' ? 'the port after the \':\' is missing' : `port ${JSON.stringify(port)} is not a number`}, in host entry ${show(entry)}: expected 'host:port'`);
      }
      return { host: checkHostName(host, entry), port: checkPort(Number(port), entry), tls: undefined };
    }
    throw invalid(
      `host entry ${show(entry)} has ${colons} ':'; an IPv6 address must be written in brackets: '[${text}]', or '[addr]:port' with a port`,
    );
  }
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const obj = entry as Record<string, unknown>;
    if (typeof obj.host !== 'string') throw invalid(`host must be a string, got ${describeValue(obj.host)}, in host entry ${show(entry)}`);
    const port = obj.port === undefined || obj.port === null ? DEFAULT_GEARMAN_PORT : checkPort(obj.port, entry);
    let tls: TlsConnectionOptions | undefined;
    if (obj.tls === true) tls = {};
    else if (typeof obj.tls === 'object' && obj.tls !== null) tls = obj.tls as TlsConnectionOptions;
    else if (obj.tls !== undefined && obj.tls !== false) {
      throw invalid(`tls must be true or node:tls connect options, got ${describeValue(obj.tls)}, in host entry ${show(entry)}`);
    }
    const url = URL_ENTRY.exec(obj.host);
    if (url !== null) throw urlError(obj.host, url[1]!, url[2]!);
    return { host: checkHostName(obj.host.replace(/^\[(.*)\]$/, '$1'), entry), port, tls };
  }
  throw invalid(`a host entry must be a string or an object, got ${describeValue(entry)}: expected 'host', 'host:port', '[v6addr]:port' or { host, port?, tls? }`);
}

/**
 * Parses a host list; no list, or an empty one, means `['localhost:4730']` (python-gearman's
 * default server, so a port of `GearmanClient([])` still finds it).
 *
 * @throws {@link InvalidArgumentError} (code `'INVALID_HOST'`) for a list that is not an array or
 * an entry that is malformed
 * @internal
 */
export function parseHostList(hostList: unknown): ParsedHost[] {
  if (hostList === undefined || hostList === null || (Array.isArray(hostList) && hostList.length === 0)) {
    return [parseHost(`localhost:${DEFAULT_GEARMAN_PORT}`)];
  }
  if (!Array.isArray(hostList)) {
    throw invalid(
      `the host list must be an array of host entries, got ${describeValue(hostList)}` +
        (typeof hostList === 'string' || (typeof hostList === 'object' && hostList !== null) ? `: write [${show(hostList)}]` : ''),
    );
  }
  return hostList.map((entry) => parseHost(entry));
}
