// What the integration globalSetup provides to the specs.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Port of the shared server (gearmand or the embedded one). */
    gearmandPort: number;
    /** Which server the shared one is. */
    testServer: 'gearmand' | 'embedded';
  }
}
