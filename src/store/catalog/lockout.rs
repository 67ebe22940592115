//! Failed-login counters, in the database so that every replica and both doors share them.
//! One row per scope (`user:NAME` or `ip:ADDR`): a fixed window of failures, and a lock that
//! starts when the count reaches the limit.

use super::Catalog;
use crate::base::domain::Millis;
use crate::base::error::CoreResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockoutOutcome {
    Open,
    LockedUntil(Millis),
}

impl Catalog {
    /// The latest lock among `scopes`, if any is still in force at `now`.
    pub async fn locked(&self, scopes: &[String], now: Millis) -> CoreResult<LockoutOutcome> {
        let mut until = 0;
        for scope in scopes {
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT locked_until FROM lockouts WHERE scope = $1")
                    .bind(scope)
                    .fetch_optional(self.pool())
                    .await?;
            if let Some((t,)) = row {
                until = until.max(t);
            }
        }
        Ok(if until > now {
            LockoutOutcome::LockedUntil(until)
        } else {
            LockoutOutcome::Open
        })
    }

    /// Counts one failure for `scope` atomically (a single upsert, so concurrent replicas never
    /// lose a count) and locks it when `max` failures fall inside one window.
    pub async fn record_failure(
        &self,
        scope: &str,
        now: Millis,
        window_ms: i64,
        max: i64,
        cooldown_ms: i64,
    ) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO lockouts (scope, failures, window_start, locked_until) \
             VALUES ($1, 1, $2, CASE WHEN $5 <= 1 THEN $2 + $4 ELSE 0 END) \
             ON CONFLICT (scope) DO UPDATE SET \
               failures = CASE WHEN lockouts.window_start < $2 - $3 THEN 1 ELSE lockouts.failures + 1 END, \
               window_start = CASE WHEN lockouts.window_start < $2 - $3 THEN $2 ELSE lockouts.window_start END, \
               locked_until = CASE \
                 WHEN (CASE WHEN lockouts.window_start < $2 - $3 THEN 1 ELSE lockouts.failures + 1 END) >= $5 \
                 THEN $2 + $4 ELSE lockouts.locked_until END",
        )
        .bind(scope)
        .bind(now)
        .bind(window_ms)
        .bind(cooldown_ms)
        .bind(max)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A successful login clears the username's counter (not the address's).
    pub async fn clear_failures(&self, scope: &str) -> CoreResult<()> {
        sqlx::query("DELETE FROM lockouts WHERE scope = $1")
            .bind(scope)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
