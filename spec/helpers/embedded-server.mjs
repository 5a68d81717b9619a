// Runs the embedded GearmanServer (dist/server) as its own process, so the integration specs can
// treat it as they treat gearmand: a pid to signal (SIGSTOP, SIGKILL), a port, a log. Started by
// startGearmand() in gearmand.mjs when GEARMAN_TEST_SERVER=embedded.
//   node spec/helpers/embedded-server.mjs --port=4730 [--job-retries=N] [--exceptions] [--job-handle-prefix=P]
import { GearmanServer } from '../../dist/server/index.js';

const options = { host: '127.0.0.1', port: 4730 };
for (const arg of process.argv.slice(2)) {
  const [name, value] = arg.split('=', 2);
  if (name === '--port') options.port = Number(value);
  else if (name === '--listen') options.host = value;
  else if (name === '--job-retries') options.jobRetries = Number(value);
  else if (name === '--exceptions') options.exceptions = true;
  else if (name === '--job-handle-prefix') options.handlePrefix = value;
  else if (name === '--allow-shutdown') options.allowShutdown = true;
  // gearmand's other options (threads, log and pid files, verbosity) have no counterpart.
}
const stamp = () => new Date().toISOString();
options.logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (m) => process.stderr.write(`${stamp()} WARNING ${m}\n`),
  error: (m) => process.stderr.write(`${stamp()} ERROR ${m}\n`),
};
const server = await GearmanServer.start(options);
process.stderr.write(`${stamp()} listening on ${server.address}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
