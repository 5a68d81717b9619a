/**
 * `gearman-ts cancel HANDLE...`: cancels jobs by handle (admin "cancel job").
 *
 * @module
 * @internal
 */
import { ServerError } from '../../index.js';
import { EXIT, UsageError } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, reportFailures } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { formatTable } from '../table.js';
import { describeError, write } from '../output.js';

interface Outcome {
  server: string;
  handle: string;
  answer: string;
}

export const cancel: Command = {
  name: 'cancel',
  summary: 'cancel jobs by handle (admin "cancel job")',
  help: `Usage: gearman-ts cancel HANDLE... [options]

Asks every server to cancel each job handle: its foreground clients get a failure at once, a
queued job is dropped, a running job keeps running. A handle is known to one server only: the
others answer UNKNOWN_JOB, which is not an error as long as one server knew it. Exit code 1 if
no server knew a handle.

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('cancel', argv, io);
    if (args.help) return write(io.stdout, cancel.help + '\n').then(() => EXIT.OK);
    if (args.positionals.length === 0) throw new UsageError('expected at least one HANDLE', 'cancel');
    const outcomes: Outcome[] = [];
    let code: number = EXIT.OK;
    for (const handle of args.positionals) {
      const results = await eachServer(args.servers, args.pollTimeout, (admin) => admin.cancelJob(handle));
      const known = results.filter((r) => r.ok);
      for (const r of results) {
        if (r.ok) outcomes.push({ server: r.server, handle, answer: r.value });
        else if (r.error instanceof ServerError) outcomes.push({ server: r.server, handle, answer: describeError(r.error) });
      }
      // An unreachable server is reported; an UNKNOWN_JOB from one server is not, if another knew it.
      const unreachable = results.filter((r) => !r.ok && !(r.error instanceof ServerError));
      code = Math.max(code, await reportFailures(unreachable, io));
      if (known.length === 0) {
        if (unreachable.length < results.length) await write(io.stderr, `gearman-ts: no server knows job ${handle}\n`);
        code = Math.max(code, EXIT.FAILED);
      }
    }
    if (args.json) await write(io.stdout, JSON.stringify(outcomes) + '\n');
    else await write(io.stdout, formatTable([
      { header: 'SERVER', value: (o: Outcome) => o.server },
      { header: 'HANDLE', value: (o: Outcome) => o.handle },
      { header: 'ANSWER', value: (o: Outcome) => o.answer },
    ], outcomes));
    return code;
  },
};
