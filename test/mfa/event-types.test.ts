/**
 * The audit events' reason unions are derived from the result types
 * (events.ts): they must stay exactly the reasons each event documents, so
 * that deriving them changed no event. Checked by the type checker
 * (`npm run typecheck`); a mismatch is a compile error here.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  EnrollmentFailedEvent,
  RecoveryCodeFailedEvent,
  ResyncFailedEvent,
  ThrottledEvent,
  VerifyFailedEvent,
} from '../../src/index.ts';

describe('event reasons', () => {
  it('enrollment_failed: every completeEnrollment refusal but throttling', () => {
    expectTypeOf<EnrollmentFailedEvent['reason']>().toEqualTypeOf<
      | 'malformed'
      | 'same_code'
      | 'wrong_order'
      | 'mismatch'
      | 'expired'
      | 'not_pending'
      | 'factor_limit'
      | 'name_taken'
      | 'clock_skew'
      | 'app_ignored_parameters'
      | 'stale_qr'
      | 'existing_factor'
    >();
  });

  it('verify_failed: every verify refusal but replays and throttling', () => {
    expectTypeOf<VerifyFailedEvent['reason']>().toEqualTypeOf<
      'not_enrolled' | 'malformed' | 'mismatch' | 'resync_required'
    >();
  });

  it('resync_failed and recovery_code_failed: every refusal but throttling', () => {
    expectTypeOf<ResyncFailedEvent['reason']>().toEqualTypeOf<
      | 'not_enrolled'
      | 'malformed'
      | 'same_code'
      | 'wrong_order'
      | 'mismatch'
      | 'replayed'
      | 'clock_skew'
    >();
    expectTypeOf<RecoveryCodeFailedEvent['reason']>().toEqualTypeOf<
      'not_enrolled' | 'malformed' | 'mismatch' | 'replayed'
    >();
  });

  it('throttled: the two throttle reasons', () => {
    expectTypeOf<ThrottledEvent['reason']>().toEqualTypeOf<'throttled' | 'locked'>();
  });
});
