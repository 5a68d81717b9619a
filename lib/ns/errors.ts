/**
 * The `errors` namespace, as python-gearman's `gearman.errors` module: every error class.
 * @module
 */
export {
  GearmanError,
  ConnectionError,
  ServerUnavailable,
  ProtocolError,
  UnknownCommandError,
  ExceededConnectionAttempts,
  InvalidClientState,
  InvalidWorkerState,
  InvalidAdminClientState,
  ListingTooLargeError,
  ServerError,
  ShutdownError,
  ConnectTimeoutError,
  InvalidArgumentError,
} from '../errors.js';
export type { GearmanErrorOptions, GearmanErrorCode } from '../errors.js';
