// Modules of the reader's own application that fragments may import (see
// scripts/sample-context.d.ts): a custom store, as in docs/stores.md.
declare module '*/my-store.ts' {
  export const MyStore: new (connection: unknown) => import('totpkit').MFAStore;
}
