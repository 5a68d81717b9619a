// The API site's rules that typedoc's own validation cannot check (`npm run docs` checks the rest
// with `treatWarningsAsErrors`: a summary on every export, every parameter described, links that
// resolve). This spec builds typedoc's model of the site from typedoc.json and checks that every
// public class shows an @example, that every optional field of an options interface says its
// @default, and that the poll core's internals stay off the public pages.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, ReflectionKind, type DeclarationReflection, type ProjectReflection } from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Members that exist at run time for the library's own use and must not be on a public page. */
const INTERNAL_MEMBERS = [
  'wake', 'handleWrite', 'handleError', 'handleRead', 'handlerOf', 'onConnectionLost', 'bindHandler',
  'unbindHandler', 'runLoop', 'assertInvariants', 'sendCommand', 'sendText', 'rotation', 'statusPending', 'waiters', 'wire',
  'encodedData',
];

/**
 * Gaps in lib/worker.ts, whose doc comments another change owns: allowed until it documents them
 * (then delete the entry); anything else missing fails.
 */
const PENDING = ['gearman-ts.SendOptions.pollTimeout ', 'gearman-ts.RegisterTaskOptions.timeoutMs '];

let project: ProjectReflection;

function where(r: DeclarationReflection): string {
  return `${r.getFriendlyFullName()} (${r.sources?.[0]?.fileName ?? '?'})`;
}

beforeAll(async () => {
  const app = await Application.bootstrap({ options: join(root, 'typedoc.json'), logLevel: 'Error' });
  const converted = await app.convert();
  if (converted === undefined) throw new Error('typedoc could not convert the project (run `npm run docs` to see why)');
  project = converted;
}, 120_000);

describe('the API docs', () => {
  it('document both entry points', () => {
    expect(project.children?.map((m) => m.name)).toEqual(['gearman-ts', 'gearman-ts/server']);
  });

  it('show an @example on every public class', () => {
    const classes = project.getReflectionsByKind(ReflectionKind.Class) as DeclarationReflection[];
    expect(classes.length).toBeGreaterThan(20);
    const missing = classes.filter((c) => c.comment?.getTag('@example') === undefined).map(where);
    expect(missing).toEqual([]);
  });

  it('give a @default for every optional field of an options interface', () => {
    const options = (project.getReflectionsByKind(ReflectionKind.Interface) as DeclarationReflection[]).filter((i) => i.name.endsWith('Options') || i.name === 'JobSpec');
    expect(options.map((o) => o.name)).toEqual(expect.arrayContaining(['GearmanClientOptions', 'GearmanWorkerOptions', 'GearmanAdminClientOptions', 'GearmanServerOptions', 'SubmitJobOptions']));
    const missing = options
      .flatMap((o) => o.children ?? [])
      .filter((p) => p.kindOf(ReflectionKind.Property) && p.flags.isOptional && p.inheritedFrom === undefined)
      .filter((p) => p.comment?.getTag('@default') === undefined && p.comment?.getTag('@defaultValue') === undefined)
      .map(where)
      .filter((name) => !PENDING.some((p) => name.startsWith(p)));
    expect(missing).toEqual([]);
  });

  it('keep the internals off the public pages', () => {
    const classes = project.getReflectionsByKind(ReflectionKind.Class) as DeclarationReflection[];
    const shown = classes.flatMap((c) => (c.children ?? []).filter((m) => INTERNAL_MEMBERS.includes(m.name)).map((m) => `${c.name}.${m.name}`));
    expect(shown).toEqual([]);
  });
});
