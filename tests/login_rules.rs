//! Login and key rules, in process through the identity both doors call: parallel guesses
//! are counted before they are verified, a stranger's guesses never lock the photographer out
//! from their own address, junk usernames do not grow the lock-out table, and HTTPFs keys are
//! random, stored hashed and revoked by a new password. SQLite and, when it answers, PostgreSQL.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ftpgate::base::domain::{Door, Role};
use ftpgate::base::error::CoreError;
use ftpgate::ops::admin;
use ftpgate::store::catalog::{Attempt, AttemptLimits};
use support::each_backend;

const RIGHT: &str = "correct horse battery";

fn v4(a: u8, b: u8, c: u8, d: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_burst_gets_at_most_max_failures_verifications() {
    each_backend(|tg| async move {
        tg.photographer("alice", "wedding", Role::Uploader).await;
        let id = tg.gw.identity();
        let attacker = v4(203, 0, 113, 9);
        // 40 wrong passwords at once, the right one in the middle of the burst.
        let attempts = (0..41).map(|i| {
            let pw = if i == 20 { RIGHT } else { "wrong guess" };
            async move { id.login("alice", pw, attacker, Door::Ftp).await }
        });
        let results = futures_util::future::join_all(attempts).await;
        let verified_wrong = results
            .iter()
            .filter(|r| matches!(r, Err(CoreError::Unauthorized)))
            .count();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        // At most max_failures_per_user (5) wrong passwords verified; the right one, if it
        // got in before the lock, logs in without lifting it.
        assert!(
            verified_wrong <= 5 && ok <= 1,
            "{verified_wrong} wrong passwords verified (limit 5), {ok} right"
        );
        let locked = results
            .iter()
            .filter(|r| matches!(r, Err(CoreError::LockedOut)))
            .count();
        assert_eq!(locked + verified_wrong + ok, 41);
        // The burst locked this username from this address, and a right password now is refused.
        assert!(matches!(
            id.login("alice", RIGHT, attacker, Door::Ftp).await,
            Err(CoreError::LockedOut)
        ));
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_success_does_not_erase_failures_recorded_meanwhile() {
    each_backend(|tg| async move {
        tg.photographer("alice", "wedding", Role::Uploader).await;
        let c = tg.gw.catalog();
        let limits = AttemptLimits {
            max: 5,
            window_ms: 900_000,
            cooldown_ms: 900_000,
        };
        let now = ftpgate::base::domain::now_millis();
        let scope = "ua:alice|198.51.100.7";
        // One verified failure; then the right password starts (1 failure before it); a
        // failure verified while it runs; the success forgives only the one before it.
        assert_eq!(
            c.count_attempt(scope, now, limits).await.expect("count"),
            Attempt::Allowed { failures_before: 0 }
        );
        c.record_failure(scope, now, limits).await.expect("fail");
        assert_eq!(
            c.count_attempt(scope, now, limits).await.expect("count"),
            Attempt::Allowed { failures_before: 1 }
        );
        assert_eq!(
            c.count_attempt(scope, now, limits).await.expect("count"),
            Attempt::Allowed { failures_before: 1 }
        );
        c.record_failure(scope, now, limits).await.expect("fail");
        c.finish_attempt(scope, 1).await.expect("success");
        assert_eq!(
            c.count_attempt(scope, now, limits).await.expect("count"),
            Attempt::Allowed { failures_before: 1 },
            "the failure verified during the success is still there"
        );
        // Attempts in flight fill the limit: the next one waits.
        for _ in 0..4 {
            assert!(matches!(
                c.count_attempt(scope, now, limits).await.expect("count"),
                Attempt::Allowed { .. } | Attempt::Busy
            ));
        }
        assert_eq!(
            c.count_attempt(scope, now, limits).await.expect("count"),
            Attempt::Busy
        );
        // And through the identity: one failure, then the right password beside three more.
        let id = tg.gw.identity();
        let ip = v4(198, 51, 100, 8);
        assert!(id.login("alice", "typo typo", ip, Door::Ftp).await.is_err());
        let (ok, f1, f2) = tokio::join!(
            id.login("alice", RIGHT, ip, Door::Ftp),
            id.login("alice", "typo again", ip, Door::Ftp),
            id.login("alice", "typo again", ip, Door::Ftp),
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(f1.is_err() && f2.is_err());
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_right_passwords_all_log_in() {
    each_backend(|tg| async move {
        tg.photographer("alice", "wedding", Role::Uploader).await;
        let id = tg.gw.identity();
        let camera = v4(192, 0, 2, 20);
        let logins = (0..20).map(|_| id.login("alice", RIGHT, camera, Door::Ftp));
        let results = futures_util::future::join_all(logins).await;
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stranger_cannot_lock_the_photographer_out() {
    each_backend(|tg| async move {
        tg.photographer("alice", "wedding", Role::Uploader).await;
        let id = tg.gw.identity();
        let stranger = v4(203, 0, 113, 66);
        for _ in 0..12 {
            assert!(
                id.login("alice", "guess", stranger, Door::Sftpgo)
                    .await
                    .is_err()
            );
        }
        assert!(matches!(
            id.login("alice", RIGHT, stranger, Door::Sftpgo).await,
            Err(CoreError::LockedOut)
        ));
        let camera = v4(192, 0, 2, 10);
        id.login("alice", RIGHT, camera, Door::Ftp)
            .await
            .expect("the photographer's own camera elsewhere still logs in");
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ipv6_64_is_one_address_for_the_address_limit() {
    each_backend(|tg| async move {
        let id = tg.gw.identity();
        let base: u128 = 0x2001_0db8_0001_0002_0000_0000_0000_0000;
        // max_failures_per_ip is 50: 50 failures from 50 addresses of one /64, other names.
        for i in 0..50u128 {
            let ip = Some(IpAddr::V6(Ipv6Addr::from(base + i + 1)));
            let _ = id.login(&format!("user{i}"), "nope", ip, Door::Ftp).await;
        }
        tg.photographer("alice", "wedding", Role::Uploader).await;
        let fresh = Some(IpAddr::V6(Ipv6Addr::from(base + 0xffff)));
        assert!(matches!(
            id.login("alice", RIGHT, fresh, Door::Ftp).await,
            Err(CoreError::LockedOut)
        ));
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn junk_usernames_share_one_row_per_address() {
    each_backend(|tg| async move {
        let id = tg.gw.identity();
        let ip = v4(203, 0, 113, 1);
        let before = tg.gw.catalog().attempt_rows().await.expect("rows");
        for i in 0..30 {
            let junk = format!("{i}{}", "x/".repeat(2048));
            let _ = id.login(&junk, "nope", ip, Door::Ftp).await;
        }
        let after = tg.gw.catalog().attempt_rows().await.expect("rows");
        assert!(after - before <= 2, "{before} -> {after} rows");
        // Rows whose window and lock have passed are purged.
        let later = ftpgate::base::domain::now_millis() + 10 * 24 * 3600 * 1000;
        tg.gw
            .catalog()
            .purge_attempts(later, 900_000)
            .await
            .expect("purge");
        assert_eq!(tg.gw.catalog().attempt_rows().await.expect("rows"), 0);
        tg
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_are_random_stored_hashed_and_revoked_by_a_new_password() {
    each_backend(|tg| async move {
        tg.photographer("carl.b", "wedding", Role::Uploader).await;
        let id = tg.gw.identity();
        let row = id
            .login("carl.b", RIGHT, v4(192, 0, 2, 1), Door::Sftpgo)
            .await
            .expect("login");
        let k1 = id.issue_httpfs_key(&row, None).await.expect("key");
        let k2 = id.issue_httpfs_key(&row, None).await.expect("key");
        assert_ne!(k1, k2, "random, one per login");
        for k in [&k1, &k2] {
            let s = id
                .session_from_key(k, None, Door::Sftpgo)
                .await
                .expect("valid");
            assert_eq!(s.username.as_str(), "carl.b", "a dot in the username works");
        }
        let secret = k1.rsplit('.').next().expect("secret");
        let stored = tg
            .gw
            .catalog()
            .httpfs_key(k1.split('.').nth(1).expect("id"))
            .await
            .expect("read")
            .expect("stored");
        assert!(
            !stored.secret_hash.contains(secret),
            "only a hash is stored"
        );
        let last = if k1.ends_with('A') { 'B' } else { 'A' };
        let forged = format!("{}{last}", &k1[..k1.len() - 1]);
        assert!(
            id.session_from_key(&forged, None, Door::Sftpgo)
                .await
                .is_err()
        );

        admin::set_password(tg.gw.catalog(), "carl.b", Some("another long one".into()))
            .await
            .expect("passwd");
        tokio::time::sleep(
            ftpgate::core::identity::STATE_TTL + std::time::Duration::from_millis(200),
        )
        .await;
        assert!(
            matches!(
                id.session_from_key(&k1, None, Door::Sftpgo).await,
                Err(CoreError::Unauthorized)
            ),
            "a new password revokes the old keys"
        );
        tg
    })
    .await;
}
