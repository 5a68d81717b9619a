import type { ChildProcess } from 'node:child_process';

export interface Gearmand {
  port: number;
  /** '127.0.0.1:<port>' */
  host: string;
  pid: number;
  dir: string;
  version: string;
  child: ChildProcess;
  stop(): Promise<void>;
  log(): string;
}
export function gearmandPath(): string;
export function freePort(): Promise<number>;
export function adminLine(port: number, line: string, timeoutMs?: number): Promise<string | null>;
export function startGearmand(options?: { port?: number; args?: string[]; threads?: number; server?: 'gearmand' | 'embedded' }): Promise<Gearmand>;
export function testServerKind(): 'embedded' | 'gearmand';
export function findGearmand(): string | undefined;
export function startEmbedded(options?: { port?: number; args?: string[] }): Promise<Gearmand>;
