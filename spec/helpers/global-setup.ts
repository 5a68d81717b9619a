// vitest globalSetup of the integration projects: one shared server for the specs that do not
// kill or restart a server: gearmand in the `integration` project, the embedded server (in its own
// process) in `integration-embedded`. Its port reaches the specs through `inject('gearmandPort')`,
// and which one it is through `inject('testServer')`.
import type { TestProject } from 'vitest/node';
import './provided.js';
import { startEmbedded, startGearmand, type Gearmand } from './gearmand.mjs';

let server: Gearmand | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kind = project.config.env?.GEARMAN_TEST_SERVER === 'embedded' ? 'embedded' : 'gearmand';
  server = kind === 'embedded' ? await startEmbedded() : await startGearmand();
  project.provide('gearmandPort', server.port);
  project.provide('testServer', kind);
  return async () => {
    await server?.stop();
  };
}
