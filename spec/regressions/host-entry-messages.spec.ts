// Regression (issue 9, "Error messages that mislead": `http://localhost:4646` as a host gave
// "write IPv6 addresses as '[addr]:port'"). A malformed host entry is now an InvalidArgumentError
// (a TypeError; `instanceof GearmanError` holds too) with code 'INVALID_HOST', whose message leads
// with the real cause and says what to write. Checked through all three classes' constructors.
import { describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanError, GearmanWorker, InvalidArgumentError } from '../../lib/index.js';

function hostError(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(GearmanError);
    expect((err as InvalidArgumentError).code).toBe('INVALID_HOST');
    return err as InvalidArgumentError;
  }
  throw new Error('expected the constructor to throw');
}

const CASES: Array<[entry: unknown, message: string]> = [
  ['http://localhost:4646', `host entry "http://localhost:4646" is a URL; a host entry is 'host', 'host:port' or '[v6addr]:port' without a scheme: write 'localhost:4646'`],
  ['https://gm.example:4730/', `host entry "https://gm.example:4730/" is a URL; a host entry is 'host', 'host:port' or '[v6addr]:port' without a scheme: write { host: 'gm.example', port: 4730, tls: true } for TLS, or 'gm.example:4730'`],
  ['gearman://[::1]:4730', `host entry "gearman://[::1]:4730" is a URL; a host entry is 'host', 'host:port' or '[v6addr]:port' without a scheme: write '[::1]:4730'`],
  [{ host: 'http://localhost', port: 4730 }, `host entry "http://localhost" is a URL; a host entry is 'host', 'host:port' or '[v6addr]:port' without a scheme: write 'localhost'`],
  ['::1', `host entry "::1" has 2 ':'; an IPv6 address must be written in brackets: '[::1]', or '[addr]:port' with a port`],
  ['[::1', `the '[' of an IPv6 address has no ']', in host entry "[::1": expected '[v6addr]' or '[v6addr]:port'`],
  ['[::1]:http', `port "http" is not a number, in host entry "[::1]:http": expected '[v6addr]' or '[v6addr]:port'`],
  ['localhost:', `the port after the ':' is missing, in host entry "localhost:": expected 'host:port'`],
  ['localhost:99999', `port 99999 is not a TCP port (an integer from 1 to 65535), in host entry "localhost:99999"`],
  ['gear man', `host name "gear man" contains whitespace, in host entry "gear man": expected 'host', 'host:port' or '[v6addr]:port'`],
  ['user@localhost', `host name "user@localhost" contains '@' (a URL or a path is not a host name), in host entry "user@localhost": expected 'host', 'host:port' or '[v6addr]:port'`],
  [{ host: 'localhost', port: '4730' }, `port string "4730" is not a TCP port (an integer from 1 to 65535), in host entry {"host":"localhost","port":"4730"}`],
  [{ port: 4730 }, `host must be a string, got undefined, in host entry {"port":4730}`],
  [{ host: 'localhost', tls: 'yes' }, `tls must be true or node:tls connect options, got string "yes", in host entry {"host":"localhost","tls":"yes"}`],
  [4730, `a host entry must be a string or an object, got number 4730: expected 'host', 'host:port', '[v6addr]:port' or { host, port?, tls? }`],
];

describe('host entries: messages that lead with the cause', () => {
  for (const [entry, message] of CASES) {
    it(`${JSON.stringify(entry)}`, () => {
      for (const make of [
        () => new GearmanClient([entry as string]),
        () => new GearmanWorker([entry as string]),
        () => new GearmanAdminClient([entry as string]),
      ]) {
        expect(hostError(make).message).toBe(message);
      }
    });
  }

  it('a host list that is not an array says what to write', () => {
    expect(hostError(() => new GearmanClient('localhost:4730' as never)).message).toBe(
      'the host list must be an array of host entries, got string "localhost:4730": write ["localhost:4730"]',
    );
  });

  it('the admin client with two servers says why it takes one', () => {
    expect(hostError(() => new GearmanAdminClient(['127.0.0.1:4730', '127.0.0.1:4731'])).message).toBe(
      'GearmanAdminClient takes exactly one server, got 2: ask each server with its own admin client',
    );
  });
});
