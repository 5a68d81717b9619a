/**
 * Host list parsing: `'host'`, `'host:port'`, `'[v6addr]:port'`, or `{ host, port?, tls? }`.
 *
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { GearmanError } from './errors.js';

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

function checkPort(port: unknown, entry: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new GearmanError(`invalid port ${JSON.stringify(port)} in host entry ${show(entry)}: expected an integer from 1 to 65535`, { code: 'INVALID_HOST' });
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

function checkHostName(host: string, entry: unknown): string {
  if (host.length === 0 || /[\s/\\@?#]/.test(host)) {
    throw new GearmanError(`invalid host name ${JSON.stringify(host)} in host entry ${show(entry)}`, { code: 'INVALID_HOST' });
  }
  return host;
}

/**
 * Parses one host list entry.
 *
 * @throws {@link GearmanError} (code `'INVALID_HOST'`) naming the entry and what is wrong with it
 * @internal
 */
export function parseHost(entry: unknown): ParsedHost {
  if (typeof entry === 'string') {
    const text = entry.trim();
    if (text.startsWith('[')) {
      const m = /^\[([0-9A-Fa-f:.%a-zA-Z0-9]+)\](?::(\d+))?$/.exec(text);
      if (m === null) throw new GearmanError(`malformed host entry ${show(entry)}: expected '[v6addr]' or '[v6addr]:port'`, { code: 'INVALID_HOST' });
      return { host: m[1]!, port: m[2] === undefined ? DEFAULT_GEARMAN_PORT : checkPort(Number(m[2]), entry), tls: undefined };
    }
    const colons = text.split(':').length - 1;
    if (colons === 0) return { host: checkHostName(text, entry), port: DEFAULT_GEARMAN_PORT, tls: undefined };
    if (colons === 1) {
      const [host, port] = text.split(':') as [string, string];
      if (!/^\d+$/.test(port)) throw new GearmanError(`malformed host entry ${show(entry)}: port ${JSON.stringify(port)} is not a number`, { code: 'INVALID_HOST' });
      return { host: checkHostName(host, entry), port: checkPort(Number(port), entry), tls: undefined };
    }
    throw new GearmanError(`malformed host entry ${show(entry)}: write IPv6 addresses as '[addr]:port'`, { code: 'INVALID_HOST' });
  }
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const obj = entry as Record<string, unknown>;
    if (typeof obj.host !== 'string') throw new GearmanError(`host entry ${show(entry)} has no string 'host'`, { code: 'INVALID_HOST' });
    const port = obj.port === undefined || obj.port === null ? DEFAULT_GEARMAN_PORT : checkPort(obj.port, entry);
    let tls: TlsConnectionOptions | undefined;
    if (obj.tls === true) tls = {};
    else if (typeof obj.tls === 'object' && obj.tls !== null) tls = obj.tls as TlsConnectionOptions;
    else if (obj.tls !== undefined && obj.tls !== false) {
      throw new GearmanError(`host entry ${show(entry)}: 'tls' must be true or node:tls connect options`, { code: 'INVALID_HOST' });
    }
    return { host: checkHostName(obj.host.replace(/^\[(.*)\]$/, '$1'), entry), port, tls };
  }
  throw new GearmanError(`invalid host entry ${show(entry)}: expected 'host', 'host:port', '[v6addr]:port' or { host, port?, tls? }`, { code: 'INVALID_HOST' });
}

/**
 * Parses a host list; no list means `['localhost:4730']`.
 *
 * @throws {@link GearmanError} for a list that is not an array or an entry that is malformed
 * @internal
 */
export function parseHostList(hostList: unknown): ParsedHost[] {
  if (hostList === undefined || hostList === null) return [parseHost(`localhost:${DEFAULT_GEARMAN_PORT}`)];
  if (!Array.isArray(hostList)) {
    throw new GearmanError(`host list must be an array of host entries, got ${show(hostList)}`, { code: 'INVALID_HOST' });
  }
  return hostList.map((entry) => parseHost(entry));
}
