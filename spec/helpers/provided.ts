// What the integration globalSetup provides to the specs.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    gearmandPort: number;
  }
}
