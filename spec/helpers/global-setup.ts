// vitest globalSetup of the integration project: one shared gearmand for the specs that do not
// kill or restart a server. Its port reaches the specs through `inject('gearmandPort')`.
import type { TestProject } from 'vitest/node';
import './provided.js';
import { startGearmand, type Gearmand } from './gearmand.mjs';

let server: Gearmand | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  server = await startGearmand();
  project.provide('gearmandPort', server.port);
  return async () => {
    await server?.stop();
  };
}
