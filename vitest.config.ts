// Test projects:
//   unit                  no server at all (codec, handlers over fake sockets, fake-server faults)
//   integration           spec/integration + spec/regressions against a real gearmand
//   integration-embedded  the same files against the embedded GearmanServer
//   server                spec/server: the embedded server's own specs (interop, hostile input,
//                         side-by-side comparisons with gearmand)
// GEARMAN_TEST_SERVER=embedded|gearmand keeps only one of the two integration projects. A spec file
// that needs a program this machine lacks (gearmand, gearadmin, the C gearman tool, Perl's
// Gearman::Client, PHP's gearman extension, openssl) is left out, and the list is printed.
import { defineConfig } from 'vitest/config';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findGearmand } from './spec/helpers/gearmand.mjs';

type Need = 'gearmand' | 'gearadmin' | 'gearman' | 'perl-gearman' | 'php-gearman' | 'openssl' | 'tmux' | 'perl-gearmand' | 'python3';

/** What each spec file needs beyond Node; files not listed need nothing else. */
const NEEDS: Record<string, Need[]> = {
  'spec/integration/admin.spec.ts': ['gearadmin'],
  'spec/integration/admin-maxqueue.spec.ts': ['gearadmin'],
  'spec/integration/examples-admin.spec.ts': ['gearadmin'],
  'spec/integration/worker-reconnect.spec.ts': ['gearadmin'],
  'spec/integration/worker.spec.ts': ['gearadmin', 'gearman'],
  'spec/integration/client-tls.spec.ts': ['openssl'],
  'spec/integration/worker-tls.spec.ts': ['openssl'],
  'spec/server/interop-c.spec.ts': ['gearadmin', 'gearman'],
  'spec/server/interop-perl-php.spec.ts': ['perl-gearman', 'php-gearman'],
  'spec/server/same-as-gearmand.spec.ts': ['gearmand'],
  'spec/integration/cli-top.spec.ts': ['tmux'],
  'spec/integration/admin-priority-status.spec.ts': ['gearadmin'],
  'spec/integration/worker-exceptions.spec.ts': ['gearman', 'php-gearman', 'perl-gearman'],
  'spec/integration/worker-perl-server.spec.ts': ['perl-gearmand'],
  'spec/regressions/admin-get-jobs-column-names.spec.ts': ['gearadmin'],
  'spec/regressions/admin-names-the-text-protocol-cannot-carry.spec.ts': ['gearadmin'],
  'spec/regressions/client-poll-timeout-covers-connect.spec.ts': ['python3', 'openssl'],
  'spec/integration/client-abort.spec.ts': ['openssl'],
};

/**
 * Integration specs that test gearmand itself rather than the protocol, so they run in the
 * `integration` project only (say why beside each). Every other integration spec runs against
 * both servers.
 */
const GEARMAND_ONLY: string[] = [];

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, program)));
}

function succeeds(program: string, args: string[]): boolean {
  try {
    execFileSync(program, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const checks: Record<Need, () => boolean> = {
  gearmand: () => findGearmand() !== undefined,
  gearadmin: () => onPath('gearadmin'),
  gearman: () => onPath('gearman'),
  'perl-gearman': () => onPath('perl') && succeeds('perl', ['-MGearman::Client', '-e', '1']),
  'php-gearman': () => onPath('php') && succeeds('php', ['-r', 'exit(class_exists("GearmanClient") ? 0 : 1);']),
  openssl: () => onPath('openssl'),
  tmux: () => onPath('tmux'),
  // The Perl Gearman::Server (Debian gearman-server) installs its gearmand in /usr/bin.
  'perl-gearmand': () => existsSync('/usr/bin/gearmand') && succeeds('perl', ['-MGearman::Server', '-e', '1']),
  python3: () => onPath('python3'),
};
const have = new Map<Need, boolean>();
const has = (need: Need): boolean => {
  if (!have.has(need)) have.set(need, checks[need]());
  return have.get(need)!;
};

const skipped = Object.entries(NEEDS)
  .map(([file, needs]) => ({ file, missing: needs.filter((n) => !has(n)) }))
  .filter((e) => e.missing.length > 0);
const excluded = skipped.map((e) => e.file);

const gearmandFound = has('gearmand');
const only = process.env.GEARMAN_TEST_SERVER;
const runGearmand = gearmandFound && only !== 'embedded';
const runEmbedded = only !== 'gearmand';

if (!gearmandFound) {
  console.log(`gearmand was not found (${process.env.GEARMAND ?? '/usr/sbin/gearmand'}): the integration specs run against the embedded server only.`);
}
if (only === 'gearmand' && !gearmandFound) {
  throw new Error('GEARMAN_TEST_SERVER=gearmand but gearmand was not found (set GEARMAND=/path/to/gearmand)');
}
if (skipped.length > 0) {
  console.log('Spec files skipped on this machine (missing program):');
  for (const e of skipped) console.log(`  ${e.file}  (needs ${e.missing.join(', ')})`);
}

const integrationInclude = ['spec/integration/**/*.spec.ts', 'spec/regressions/**/*.spec.ts'];
const slow = { testTimeout: 30_000, hookTimeout: 30_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['spec/unit/**/*.spec.ts', 'spec/fake-server/**/*.spec.ts', 'spec/server/packet-stream.spec.ts'],
        },
      },
      ...(runGearmand
        ? [
            {
              test: {
                name: 'integration',
                include: integrationInclude,
                exclude: excluded,
                globalSetup: ['spec/helpers/global-setup.ts'],
                env: { GEARMAN_TEST_SERVER: 'gearmand' },
                ...slow,
              },
            },
          ]
        : []),
      ...(runEmbedded
        ? [
            {
              test: {
                name: 'integration-embedded',
                include: integrationInclude,
                exclude: [...excluded, ...GEARMAND_ONLY],
                globalSetup: ['spec/helpers/global-setup.ts'],
                env: { GEARMAN_TEST_SERVER: 'embedded' },
                ...slow,
              },
            },
          ]
        : []),
      {
        test: {
          name: 'server',
          // The "testing your workers" example is a user's spec: it runs here as written.
          include: ['spec/server/**/*.spec.ts', 'spec/package/**/*.spec.ts', 'examples/testing-your-workers/*.test.mjs'],
          exclude: ['spec/server/packet-stream.spec.ts', ...excluded],
          env: { GEARMAN_TEST_SERVER: 'embedded' },
          ...slow,
        },
      },
    ],
  },
});
