/**
 * The `adminClient` namespace, as python-gearman's `gearman.admin_client` module.
 * @module
 */
export { GearmanAdminClient, ECHO_STRING, DEFAULT_ADMIN_CLIENT_TIMEOUT } from '../admin-client.js';
