import type { Gearmand } from './gearmand.mjs';

export function threadStates(pid: number): string[] | null;
export function pauseGearmand(server: Gearmand, timeoutMs?: number): Promise<void>;
export function resumeGearmand(server: Gearmand, timeoutMs?: number): Promise<void>;
export function killGearmand(server: Gearmand): Promise<void>;
export function restartGearmand(server: Gearmand, options?: { args?: string[]; threads?: number; attempts?: number }): Promise<Gearmand>;
