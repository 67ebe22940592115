//! Login-attempt counters, in the database so that every replica and both doors share them.
//! One row per scope (`ua:USER|NET` for one username from one address, `ip:NET` for one
//! address, where NET is an IPv4 address or an IPv6 /64): a fixed window of attempts, and a
//! lock that starts when a failure brings the count to the limit.
//!
//! An attempt is counted *before* its password is verified (one atomic upsert), so a burst of
//! parallel guesses gets at most `max` verifications; a success later gives back only the
//! attempts counted up to its own, never failures recorded while it was being verified.

use super::Catalog;
use crate::base::domain::Millis;
use crate::base::error::CoreResult;

/// What counting one attempt in a scope found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Go on and verify; `count` is this attempt's place in the window (1 = first).
    Allowed { count: i64 },
    /// Refused without verifying: locked, or `max` attempts are already counted.
    Refused,
}

/// The limits of one scope.
#[derive(Clone, Copy, Debug)]
pub struct AttemptLimits {
    pub max: i64,
    pub window_ms: i64,
    pub cooldown_ms: i64,
}

/// A row starts over when its window has passed (and no lock holds) or its lock has ended.
macro_rules! reset {
    () => {
        "((lockouts.window_start < $2 - $3 AND lockouts.locked_until <= $2) \
          OR (lockouts.locked_until > 0 AND lockouts.locked_until <= $2))"
    };
}

impl Catalog {
    /// Counts one attempt in `scope` and says whether it may be verified.
    pub async fn count_attempt(
        &self,
        scope: &str,
        now: Millis,
        limits: AttemptLimits,
    ) -> CoreResult<Attempt> {
        const SQL: &str = concat!(
            "INSERT INTO lockouts (scope, failures, window_start, locked_until) \
             VALUES ($1, 1, $2, 0) \
             ON CONFLICT (scope) DO UPDATE SET failures = CASE WHEN ",
            reset!(),
            " THEN 1 ELSE lockouts.failures + 1 END, window_start = CASE WHEN ",
            reset!(),
            " THEN $2 ELSE lockouts.window_start END, locked_until = CASE WHEN ",
            reset!(),
            " THEN 0 ELSE lockouts.locked_until END RETURNING failures, locked_until"
        );
        let (count, locked_until): (i64, i64) = sqlx::query_as(SQL)
            .bind(scope)
            .bind(now)
            .bind(limits.window_ms)
            .fetch_one(self.pool())
            .await?;
        Ok(if locked_until > now || count > limits.max {
            Attempt::Refused
        } else {
            Attempt::Allowed { count }
        })
    }

    /// A verified failure: the attempt is already counted; lock the scope if the count has
    /// reached the limit.
    pub async fn lock_if_over(
        &self,
        scope: &str,
        now: Millis,
        limits: AttemptLimits,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE lockouts SET locked_until = $2 + $3 \
             WHERE scope = $1 AND failures >= $4 AND locked_until <= $2",
        )
        .bind(scope)
        .bind(now)
        .bind(limits.cooldown_ms)
        .bind(limits.max)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A verified success gives back `count` attempts (its own and those before it); a lock
    /// set meanwhile stays.
    pub async fn give_back_attempts(&self, scope: &str, count: i64) -> CoreResult<()> {
        sqlx::query(
            "UPDATE lockouts SET failures = CASE WHEN failures > $2 THEN failures - $2 ELSE 0 END \
             WHERE scope = $1",
        )
        .bind(scope)
        .bind(count)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Drops rows whose window and lock have both passed (they would start over anyway), so
    /// junk usernames and passing addresses do not accumulate.
    pub async fn purge_attempts(&self, now: Millis, window_ms: i64) -> CoreResult<u64> {
        let r =
            sqlx::query("DELETE FROM lockouts WHERE locked_until <= $1 AND window_start < $1 - $2")
                .bind(now)
                .bind(window_ms)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected())
    }

    /// Rows in the lock-out table (for tests and metrics).
    pub async fn attempt_rows(&self) -> CoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM lockouts")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
