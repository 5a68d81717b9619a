// The public surface: what API.md promises is on the package root (names and namespaces), and the
// machinery that moved to gearman-ts/internal is not.
import { describe, expect, it } from 'vitest';
import * as root from '../../lib/index.js';
import * as internal from '../../lib/internal.js';

const promised = [
  'GearmanClient', 'GearmanWorker', 'GearmanAdminClient', 'GearmanJob', 'GearmanJobRequest', 'ConnectionManager',
  'DataEncoder', 'NoopEncoder', 'Utf8Encoder', 'JsonEncoder', 'defaultRetryStrategy', 'ECHO_STRING', 'DEFAULT_ADMIN_CLIENT_TIMEOUT',
  'GearmanError', 'ConnectionError', 'ServerUnavailable', 'ProtocolError', 'UnknownCommandError', 'ExceededConnectionAttempts',
  'InvalidClientState', 'InvalidWorkerState', 'InvalidAdminClientState', 'ServerError', 'ShutdownError', 'ConnectTimeoutError',
  'InvalidArgumentError', 'ListingTooLargeError',
  'PRIORITY_NONE', 'PRIORITY_LOW', 'PRIORITY_HIGH', 'JOB_UNKNOWN', 'JOB_PENDING', 'JOB_CREATED', 'JOB_FAILED', 'JOB_COMPLETE',
  'DEFAULT_GEARMAN_PORT',
  'client', 'worker', 'adminClient', 'job', 'errors', 'protocol',
];

const moved = [
  'GearmanConnection', 'CommandHandler', 'ClientCommandHandler', 'WorkerCommandHandler', 'AdminClientCommandHandler', 'PollLoop',
  'parseHost', 'parseHostList', 'checkOptions', 'attachRequests', 'Fifo',
];

describe('the package root', () => {
  it('exports every name API.md promises', () => {
    expect(Object.keys(root)).toEqual(expect.arrayContaining(promised));
  });

  it('keeps python-gearman module names in its namespaces', () => {
    expect(root.client.JOB_UNKNOWN).toBe('UNKNOWN');
    expect(root.client.GearmanClient).toBe(root.GearmanClient);
    expect(root.worker.GearmanWorker).toBe(root.GearmanWorker);
    expect(root.worker.POLL_TIMEOUT_IN_SECONDS).toBe(60);
    expect(root.adminClient.GearmanAdminClient).toBe(root.GearmanAdminClient);
    expect(root.job.GearmanJobRequest).toBe(root.GearmanJobRequest);
    expect(root.errors.ServerUnavailable).toBe(root.ServerUnavailable);
    expect(typeof root.protocol.PacketDecoder).toBe('function');
  });

  it('leaves the machinery to gearman-ts/internal, in the namespaces too', () => {
    const everywhere = [root, root.client, root.worker, root.adminClient, root.job, root.errors].flatMap((ns) => Object.keys(ns));
    for (const name of moved) expect(everywhere, name).not.toContain(name);
    for (const name of ['GearmanConnection', 'CommandHandler', 'ClientCommandHandler', 'WorkerCommandHandler', 'AdminClientCommandHandler', 'ConnectionManager', 'parseHostList']) {
      expect(Object.keys(internal), name).toContain(name);
    }
  });
});
