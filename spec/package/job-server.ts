// The job server the package specs run against: the embedded server (gearman-ts/server) once the
// tree has one, else the integration project's shared gearmand.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sharedHosts } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface JobServer {
  /** `host:port`, for a host list. */
  host: string;
  /** Which server this is, for messages. */
  kind: 'embedded' | 'gearmand';
  close(): Promise<void>;
}

interface EmbeddedServer {
  hostList: string[];
  close(): Promise<void>;
}

export async function startJobServer(): Promise<JobServer> {
  if (existsSync(`${root}lib/server/index.ts`)) {
    // A path in a variable: the module exists only in trees that have the server.
    const entry = '../../lib/server/index.js';
    const { GearmanServer } = (await import(entry)) as { GearmanServer: { start(options?: object): Promise<EmbeddedServer> } };
    const server = await GearmanServer.start({ host: '127.0.0.1', port: 0 });
    return { host: server.hostList[0]!, kind: 'embedded', close: () => server.close() };
  }
  return { host: sharedHosts()[0]!, kind: 'gearmand', close: async () => {} };
}
