/**
 * The enrollment diagnosis (issue 12) through the service on MemoryStore:
 * the shared cases of test/mfa/diagnosis-cases.ts.
 */
import { MemoryStore } from '../../src/index.ts';
import { describeDiagnosisCases } from './diagnosis-cases.ts';

describeDiagnosisCases('MemoryStore', async () => new MemoryStore());
