//! The core's rules, tested in process through the functions both doors call (no built
//! binary, no door): quotas with concurrent uploads, renames that must be refused, a temporary
//! name becoming a photo, identical re-sends, truncate, and permission verdicts. Each test runs
//! on SQLite and, when it answers, on PostgreSQL.

mod support;

use ftpgate::base::domain::{EventStatus, Role};
use ftpgate::base::error::CoreError;
use ftpgate::ops::admin::{self, EventPatch};
use support::{TestGateway, each_backend, jpeg, spawn_gateway, vpath};

async fn photo_created_count(tg: &TestGateway) -> usize {
    tg.notifications().await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_never_pass_the_event_quota() {
    each_backend(|tg| async move {
        let s = tg.photographer("alice", "wedding", Role::Uploader).await;
        let size = 100_000;
        let patch = EventPatch {
            max_bytes: Some(Some((size as i64) * 5 / 2)),
            ..Default::default()
        };
        admin::update_event(tg.gw.catalog(), "wedding", &patch)
            .await
            .expect("quota set");
        let uploads = (0..6u8).map(|i| {
            let tg = &tg;
            let s = s.clone();
            async move {
                tg.upload(&s, &format!("/wedding/p{i}.jpg"), &jpeg(i, size))
                    .await
            }
        });
        let results = futures_util::future::join_all(uploads).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(CoreError::QuotaExceeded(_))))
            .count();
        assert_eq!((ok, refused), (2, 4), "{results:?}");
        let ev = admin::get_event(tg.gw.catalog(), "wedding")
            .await
            .expect("event");
        assert_eq!(ev.used_files, 2);
        assert_eq!(ev.used_bytes, 2 * size as i64);
        let listed = tg.gw.read_dir(&s, &vpath("/wedding")).await.expect("list");
        assert_eq!(listed.len(), 2);
        tg
    })
    .await;
}

#[tokio::test]
async fn an_identical_resend_is_one_photo_and_one_notification() {
    each_backend(|tg| async move {
        let s = tg.photographer("bob", "gala", Role::Uploader).await;
        let body = jpeg(7, 50_000);
        let first = tg
            .upload(&s, "/gala/DSC_0001.JPG", &body)
            .await
            .expect("first");
        assert!(!first.unchanged);
        let again = tg
            .upload(&s, "/gala/DSC_0001.JPG", &body)
            .await
            .expect("again");
        assert!(again.unchanged, "the same bytes again change nothing");
        assert_eq!(again.object_key, first.object_key);
        assert_eq!(photo_created_count(&tg).await, 1);
        let ev = admin::get_event(tg.gw.catalog(), "gala")
            .await
            .expect("event");
        assert_eq!((ev.used_files, ev.used_bytes), (1, body.len() as i64));
        tg
    })
    .await;
}

#[tokio::test]
async fn a_temporary_name_becomes_a_photo_when_renamed_and_is_notified_once() {
    each_backend(|tg| async move {
        let s = tg.photographer("carol", "race", Role::Uploader).await;
        tg.upload(&s, "/race/IMG_1.JPG.filepart", &jpeg(1, 20_000))
            .await
            .expect("temp upload");
        assert_eq!(
            photo_created_count(&tg).await,
            0,
            "a temp name is not yet a photo"
        );
        tg.gw
            .rename(
                &s,
                &vpath("/race/IMG_1.JPG.filepart"),
                &vpath("/race/IMG_1.JPG"),
            )
            .await
            .expect("rename");
        let n = tg.notifications().await;
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0]["type"], "photo.created", "{:?}", n[0]);
        assert_eq!(n[0]["data"]["path"], "IMG_1.JPG", "{:?}", n[0]);
        tg
    })
    .await;
}

#[tokio::test]
async fn renames_into_itself_or_across_events_are_refused_and_change_nothing() {
    each_backend(|tg| async move {
        let s = tg.photographer("dave", "one", Role::Uploader).await;
        tg.photographer("dave", "two", Role::Uploader).await;
        tg.gw.mkdir(&s, &vpath("/one/card")).await.expect("mkdir");
        tg.upload(&s, "/one/card/a.jpg", &jpeg(2, 10_000))
            .await
            .expect("upload");

        let into_itself = tg
            .gw
            .rename(&s, &vpath("/one/card"), &vpath("/one/card/inner"))
            .await;
        assert!(into_itself.is_err(), "{into_itself:?}");
        let across = tg
            .gw
            .rename(&s, &vpath("/one/card/a.jpg"), &vpath("/two/a.jpg"))
            .await;
        assert!(across.is_err(), "{across:?}");

        let still = tg
            .gw
            .stat(&s, &vpath("/one/card/a.jpg"))
            .await
            .expect("still there");
        assert_eq!(still.size, 10_000);
        assert!(matches!(
            tg.gw.stat(&s, &vpath("/two/a.jpg")).await,
            Err(CoreError::NotFound)
        ));
        tg
    })
    .await;
}

#[tokio::test]
async fn truncate_shrinks_but_never_grows() {
    each_backend(|tg| async move {
        let s = tg.photographer("erin", "fair", Role::Uploader).await;
        tg.upload(&s, "/fair/x.jpg", &jpeg(3, 30_000))
            .await
            .expect("upload");
        let grow = tg.gw.truncate(&s, &vpath("/fair/x.jpg"), 1 << 30).await;
        assert!(grow.is_err(), "{grow:?}");
        assert_eq!(
            tg.gw
                .stat(&s, &vpath("/fair/x.jpg"))
                .await
                .expect("stat")
                .size,
            30_000
        );
        tg
    })
    .await;
}

#[tokio::test]
async fn permission_verdicts_follow_role_grant_and_event_state() {
    each_backend(|tg| async move {
        let up = tg.photographer("fred", "expo", Role::Uploader).await;
        let viewer = tg.photographer("gina", "expo", Role::Viewer).await;
        tg.photographer("hank", "other", Role::Uploader).await;
        let hank = tg.photographer("hank", "other", Role::Uploader).await;

        tg.upload(&up, "/expo/a.jpg", &jpeg(4, 10_000))
            .await
            .expect("uploader writes");
        assert!(matches!(
            tg.upload(&viewer, "/expo/b.jpg", &jpeg(5, 10_000)).await,
            Err(CoreError::Denied(_))
        ));
        // No grant on the event: it does not exist for this photographer.
        assert!(matches!(
            tg.upload(&hank, "/expo/c.jpg", &jpeg(6, 10_000)).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            tg.gw.stat(&hank, &vpath("/expo/a.jpg")).await,
            Err(CoreError::NotFound)
        ));
        // A closed event is read-only, for uploads and removals alike.
        admin::set_event_status(tg.gw.catalog(), "expo", EventStatus::Closed)
            .await
            .expect("close");
        assert!(matches!(
            tg.upload(&up, "/expo/d.jpg", &jpeg(7, 10_000)).await,
            Err(CoreError::Denied(_))
        ));
        assert!(tg.gw.remove(&up, &vpath("/expo/a.jpg")).await.is_err());
        assert!(
            tg.gw.stat(&up, &vpath("/expo/a.jpg")).await.is_ok(),
            "reads still work"
        );
        tg
    })
    .await;
}

#[tokio::test]
async fn the_app_reports_the_ports_it_bound_and_serves_on_them() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tg = spawn_gateway(support::Backend::Sqlite).await;
    assert_ne!(tg.http.port(), 0);
    let mut c = tokio::net::TcpStream::connect(tg.http)
        .await
        .expect("http door");
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    c.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let ftp = tg.ftp.expect("the FTP door is on by default");
    let mut f = tokio::net::TcpStream::connect(ftp).await.expect("ftp door");
    let mut greeting = [0u8; 4];
    f.read_exact(&mut greeting).await.expect("greeting");
    assert_eq!(&greeting, b"220 ");
    tg.shutdown().await;
}
