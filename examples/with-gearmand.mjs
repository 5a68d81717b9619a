// Runs an example against a private gearmand on a free loopback port (started here and stopped
// afterwards), unless GEARMAN_SERVERS already names a server.
//   node examples/with-gearmand.mjs examples/reverse.mjs
import { spawn } from 'node:child_process';
import { startGearmand } from '../spec/helpers/gearmand.mjs';

const example = process.argv[2];
if (!example) {
  console.error('usage: node examples/with-gearmand.mjs <example.mjs> [args...]');
  process.exit(2);
}
const server = process.env.GEARMAN_SERVERS ? undefined : await startGearmand();
if (server) console.error(`(started gearmand ${server.version} on ${server.host})`);
const env = { ...process.env, GEARMAN_SERVERS: process.env.GEARMAN_SERVERS ?? server.host };
const child = spawn(process.execPath, [example, ...process.argv.slice(3)], { stdio: 'inherit', env });
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await server?.stop();
process.exit(code);
