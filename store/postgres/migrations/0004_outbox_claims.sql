-- Version 4: outbox claims with a deadline. A replica claims a due
-- delivery (SELECT ... FOR UPDATE SKIP LOCKED) until claimed_until; a
-- claim that lapses (its replica died mid-send) lets another replica
-- resend it, under the same Message-ID.

ALTER TABLE outbox ADD COLUMN claimed_until timestamptz;
