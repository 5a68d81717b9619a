// The gearmand fault functions the specs and bench/soak.mjs share: a paused gearmand has every
// thread stopped and answers nothing until resumed; a killed one is gone with its run directory;
// a restarted one is a new process answering on the same port.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { adminLine, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { killGearmand, pauseGearmand, restartGearmand, resumeGearmand, threadStates } from '../helpers/gearmand-control.mjs';

const servers: Gearmand[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await resumeGearmand(server);
    await server.stop();
  }
});

async function started(): Promise<Gearmand> {
  const server = await startGearmand({ threads: 2 });
  servers.push(server);
  return server;
}

describe('gearmand-control', () => {
  it('pauses gearmand until every thread is stopped, and resumes it', async () => {
    const server = await started();
    await pauseGearmand(server);
    const states = threadStates(server.pid)!;
    expect(states.length).toBeGreaterThan(1);
    expect(states.every((s) => s === 'T' || s === 't')).toBe(true);
    // Stopped: the connection is accepted by the kernel, nothing answers.
    expect(await adminLine(server.port, 'getpid', 300)).toBeNull();
    await resumeGearmand(server);
    expect(threadStates(server.pid)!.some((s) => s === 'T' || s === 't')).toBe(false);
    expect(await adminLine(server.port, 'getpid')).toBe(`OK ${server.pid}`);
  });

  it('kills gearmand (paused or not) and removes its run directory', async () => {
    const server = await started();
    await pauseGearmand(server);
    await killGearmand(server);
    expect(server.child.signalCode).toBe('SIGKILL');
    expect(threadStates(server.pid)).toBeNull();
    expect(existsSync(server.dir)).toBe(false);
    expect(await adminLine(server.port, 'getpid', 300)).toBeNull();
  });

  it('restarts gearmand on the same port as a new process', async () => {
    const server = await started();
    const again = await restartGearmand(server, { threads: 2 });
    servers.push(again);
    expect(again.port).toBe(server.port);
    expect(again.pid).not.toBe(server.pid);
    expect(server.child.signalCode).toBe('SIGKILL');
    expect(await adminLine(again.port, 'getpid')).toBe(`OK ${again.pid}`);
  });
});
