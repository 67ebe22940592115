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
    /// Go on and verify; `failures_before` verified failures were counted when it started.
    Allowed { failures_before: i64 },
    /// Refused without verifying: the scope is locked.
    Refused,
    /// `max` attempts are failed or being verified: wait for them, then try again.
    Busy,
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
    /// Counts one attempt in `scope` as being verified, if failures and attempts being
    /// verified stay under the limit (one conditional UPDATE: atomic on both backends).
    pub async fn count_attempt(
        &self,
        scope: &str,
        now: Millis,
        limits: AttemptLimits,
    ) -> CoreResult<Attempt> {
        const START_OVER: &str = concat!(
            "INSERT INTO lockouts (scope, failures, window_start, locked_until, pending) \
             VALUES ($1, 0, $2, 0, 0) \
             ON CONFLICT (scope) DO UPDATE SET failures = CASE WHEN ",
            reset!(),
            " THEN 0 ELSE lockouts.failures END, window_start = CASE WHEN ",
            reset!(),
            " THEN $2 ELSE lockouts.window_start END, locked_until = CASE WHEN ",
            reset!(),
            " THEN 0 ELSE lockouts.locked_until END, pending = CASE WHEN ",
            reset!(),
            " THEN 0 ELSE lockouts.pending END"
        );
        sqlx::query(START_OVER)
            .bind(scope)
            .bind(now)
            .bind(limits.window_ms)
            .execute(self.pool())
            .await?;
        let counted: Option<(i64,)> = sqlx::query_as(
            "UPDATE lockouts SET pending = pending + 1 \
             WHERE scope = $1 AND locked_until <= $2 AND failures + pending < $3 \
             RETURNING failures",
        )
        .bind(scope)
        .bind(now)
        .bind(limits.max)
        .fetch_optional(self.pool())
        .await?;
        if let Some((failures_before,)) = counted {
            return Ok(Attempt::Allowed { failures_before });
        }
        let (locked_until,): (i64,) =
            sqlx::query_as("SELECT locked_until FROM lockouts WHERE scope = $1")
                .bind(scope)
                .fetch_one(self.pool())
                .await?;
        Ok(if locked_until > now {
            Attempt::Refused
        } else {
            Attempt::Busy
        })
    }

    /// A verified failure: one attempt less in flight, one failure more, and the lock when
    /// the failures reach the limit.
    pub async fn record_failure(
        &self,
        scope: &str,
        now: Millis,
        limits: AttemptLimits,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE lockouts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END, \
             failures = failures + 1, \
             locked_until = CASE WHEN failures + 1 >= $4 AND locked_until <= $2 \
               THEN $2 + $3 ELSE locked_until END \
             WHERE scope = $1",
        )
        .bind(scope)
        .bind(now)
        .bind(limits.cooldown_ms)
        .bind(limits.max)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A verified success clears the failures counted before it started (`failures_before`),
    /// never those counted while it was being verified; a lock set meanwhile stays. An
    /// attempt abandoned unverified passes 0.
    pub async fn finish_attempt(&self, scope: &str, failures_before: i64) -> CoreResult<()> {
        sqlx::query(
            "UPDATE lockouts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END, \
             failures = CASE WHEN failures > $2 THEN failures - $2 ELSE 0 END \
             WHERE scope = $1",
        )
        .bind(scope)
        .bind(failures_before)
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

    /// Clears every lock and failure count of one username, from every address (`photographer
    /// unlock`, a new password), and answers from how many addresses there were some.
    /// Per-address limits over all usernames stay.
    pub async fn clear_user_attempts(&self, username: &str) -> CoreResult<u64> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "DELETE FROM lockouts WHERE scope LIKE $1 ESCAPE '\\' RETURNING failures, locked_until",
        )
        .bind(like_user(username))
        .fetch_all(self.pool())
        .await?;
        // Rows of successful logins carry nothing to lift: count the addresses that did.
        Ok(rows.iter().filter(|(f, l)| *f > 0 || *l > 0).count() as u64)
    }

    /// Rows in the lock-out table (for tests and metrics).
    pub async fn attempt_rows(&self) -> CoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM lockouts")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}

/// The LIKE pattern of every `ua:USER|NET` row of one username, with `_`, `%` and `\` escaped
/// (`_` is common in usernames).
fn like_user(username: &str) -> String {
    let mut pattern = String::from("ua:");
    for c in username.chars() {
        if matches!(c, '_' | '%' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str("|%");
    pattern
}
