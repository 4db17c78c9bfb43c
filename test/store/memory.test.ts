import { MemoryStore } from '../../src/index.ts';
import { testMFAStore } from '../../src/testing.ts';
import { describeRetentionCases } from './retention-cases.ts';

testMFAStore('MemoryStore', () => new MemoryStore());

// The same instance for every test, as a shared database would be.
const shared = new MemoryStore();
testMFAStore('MemoryStore (one shared instance)', () => shared);

describeRetentionCases('MemoryStore', async (throttleRetentionMs) =>
  throttleRetentionMs === undefined ? new MemoryStore() : new MemoryStore({ throttleRetentionMs }),
);
