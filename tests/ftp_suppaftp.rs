//! The embedded FTP/FTPS door end to end with a Rust client, the suppaftp crate, over real
//! loopback sockets: the camera flow in plain FTP and in explicit FTPS with protected data,
//! plus the refusals a camera must understand.
//!
//! Each test starts its own `ftpgate serve` (the binary cargo built for this package) on
//! SQLite and a local blob directory in a fresh temporary data dir, and stops it by its PID.
//! The FTPS client trusts only the certificate the gateway generated into its data dir, as a
//! photographer who accepted the fingerprint does; nothing skips verification.

use std::io::Cursor;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use suppaftp::tokio::{
    AsyncFtpStream, AsyncRustlsConnector, AsyncRustlsFtpStream, ImplAsyncFtpStream, TokioTlsStream,
};
use suppaftp::types::FileType;
use suppaftp::{FtpError, Status};
use tokio::io::AsyncReadExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_ftpgate");

/// Where one gateway lives: its data dir and its FTP ports.
struct Settings {
    dir: PathBuf,
    http: u16,
    ftp: SocketAddr,
    passive: String,
}

/// One `ftpgate serve` with the FTP door on, in its own temporary data dir.
struct Gateway {
    settings: Settings,
    child: Child,
}

impl std::ops::Deref for Gateway {
    type Target = Settings;
    fn deref(&self) -> &Settings {
        &self.settings
    }
}

impl Gateway {
    fn start(name: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!(
            "ftpgate-suppaftp-{name}-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir)?;
        let settings = Settings {
            http: free_port()?,
            ftp: format!("127.0.0.1:{}", free_port()?).parse()?,
            passive: passive_range(10)?,
            dir,
        };
        let log = std::fs::File::create(settings.dir.join("serve.log"))?;
        let child = settings
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut gw = Gateway { settings, child };
        gw.wait_listening()?;
        Ok(gw)
    }

    fn wait_listening(&mut self) -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("ftpgate serve exited with {status}: {}", self.log()).into());
            }
            if TcpStream::connect_timeout(&self.ftp, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "the FTP door did not listen on {}: {}",
            self.ftp,
            self.log()
        )
        .into())
    }
}

impl Settings {
    /// `ftpgate ARGS` with this gateway's settings, and no FTPGATE_* from the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for (key, _) in std::env::vars() {
            if key.starts_with("FTPGATE_") {
                cmd.env_remove(key);
            }
        }
        cmd.args(args)
            .current_dir(&self.dir)
            .env("FTPGATE_DATA_DIR", self.dir.join("data"))
            .env("FTPGATE_HTTP__LISTEN", format!("127.0.0.1:{}", self.http))
            .env("FTPGATE_FTP__ENABLED", "true")
            .env("FTPGATE_FTP__LISTEN", self.ftp.to_string())
            .env("FTPGATE_FTP__PASSIVE_PORTS", &self.passive)
            .env("FTPGATE_FTP__SHUTDOWN_GRACE_SECS", "2")
            .env("FTPGATE_LOG__LEVEL", "info");
        cmd
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> TestResult {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.unwrap_or("").as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!(
                "ftpgate {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(())
    }

    /// A photographer with uploader grants on `events` (created if new).
    fn photographer(&self, user: &str, password: &str, events: &[&str]) -> TestResult {
        self.cli(
            &["photographer", "add", user, "--password-stdin"],
            Some(&format!("{password}\n")),
        )?;
        for event in events {
            // An event that exists already is fine: several photographers share one.
            let _ = self.cli(&["event", "add", event], None);
            self.cli(&["grant", "add", user, event, "--role", "uploader"], None)?;
        }
        Ok(())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// The blob files on disk (not the store's own bookkeeping).
    fn blob_count(&self) -> usize {
        fn walk(p: &Path, n: &mut usize) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path(), n),
                    Ok(_) => *n += 1,
                    Err(_) => {}
                }
            }
        }
        let mut n = 0;
        walk(&self.dir.join("data/blobs"), &mut n);
        n
    }

    /// A TLS client config that trusts exactly the gateway's generated certificate.
    fn tls_connector(&self) -> Result<AsyncRustlsConnector, Box<dyn std::error::Error>> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let pem = self.dir.join("data/ftp-tls/cert.pem");
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&pem)? {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(AsyncRustlsConnector::from(
            tokio_rustls::TlsConnector::from(Arc::new(config)),
        ))
    }

    async fn plain(&self, user: &str, password: &str) -> Result<AsyncFtpStream, FtpError> {
        let mut ftp = AsyncFtpStream::connect(self.ftp).await?;
        ftp.login(user, password).await?;
        // suppaftp defaults to ASCII, which would rewrite line endings in a photo.
        ftp.transfer_type(FileType::Binary).await?;
        Ok(ftp)
    }

    async fn secure(
        &self,
        user: &str,
        password: &str,
    ) -> Result<AsyncRustlsFtpStream, Box<dyn std::error::Error>> {
        let ftp = AsyncRustlsFtpStream::connect(self.ftp).await?;
        // AUTH TLS, then PBSZ 0 + PROT P: the data connections are TLS too.
        let mut ftp = ftp.into_secure(self.tls_connector()?, "localhost").await?;
        ftp.login(user, password).await?;
        ftp.transfer_type(FileType::Binary).await?;
        Ok(ftp)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Our own child, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.settings.dir);
        }
    }
}

fn unique() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `n` consecutive bindable ports below the ephemeral range, distinct per gateway of this run.
fn passive_range(n: u16) -> Result<String, Box<dyn std::error::Error>> {
    let seed = (std::process::id() as u16).wrapping_mul(31);
    for attempt in 0..400u16 {
        let slot = (seed
            .wrapping_add(attempt.wrapping_mul(7))
            .wrapping_add(unique()))
            % 1000;
        let base = 33000 + slot * n;
        if (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(format!("{base}-{}", base + n - 1));
        }
    }
    Err("no free passive port range".into())
}

// --- photo-shaped files ------------------------------------------------------------------

/// Deterministic bytes (xorshift), so every file differs.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn jpeg(seed: u64, len: usize) -> Vec<u8> {
    // SOI, then APP0 JFIF (16 bytes with its length), then a byte that is no marker: the
    // gateway's structure check cannot mistake the noise for a scan cut short.
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 1, 1, 0, 0, 1, 0, 1, 0,
        0, 0x00,
    ];
    v.extend(noise(seed, len - v.len() - 2));
    // CR LF and lone LF inside: ASCII mode would change them, binary must not.
    v[100..104].copy_from_slice(b"\r\n\n\r");
    v.extend([0xFF, 0xD9]);
    v
}

/// A little-endian TIFF header, as Nikon NEF files start, and one IFD whose single strip is
/// the rest of the file (a whole file: the gateway checks strips lie inside it).
fn nef(seed: u64, len: usize) -> Vec<u8> {
    let mut v = b"II*\x00\x08\x00\x00\x00".to_vec();
    let data = 8 + 2 + 2 * 12 + 4;
    v.extend(2u16.to_le_bytes());
    for (tag, value) in [(273u16, data as u32), (279, (len - data) as u32)] {
        v.extend(tag.to_le_bytes());
        v.extend(4u16.to_le_bytes()); // LONG
        v.extend(1u32.to_le_bytes());
        v.extend(value.to_le_bytes());
    }
    v.extend(0u32.to_le_bytes());
    v.extend(noise(seed, len - v.len()));
    v
}

/// An ISO-BMFF `ftyp` box with Canon's `crx ` brand (CR3), a `moov` and an `mdat` box holding
/// the rest: boxes that add up to the length.
fn cr3(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend(b"ftypcrx \x00\x00\x00\x01crx isom\x00\x00\x00\x08moov");
    v.extend(((len - v.len()) as u32).to_be_bytes());
    v.extend(b"mdat");
    v.extend(noise(seed, len - v.len()));
    v
}

fn burst() -> Vec<(String, Vec<u8>)> {
    (0..50u64)
        .map(|i| match i % 5 {
            1 => (format!("DSC_{i:04}.NEF"), nef(i, 6000 + 13 * i as usize)),
            3 => (format!("IMG_{i:04}.CR3"), cr3(i, 5000 + 17 * i as usize)),
            _ => (format!("DSC_{i:04}.JPG"), jpeg(i, 3000 + 37 * i as usize)),
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// The reply code of a refused command.
fn refused_with<T: std::fmt::Debug>(r: Result<T, FtpError>) -> Option<Status> {
    match r {
        Err(FtpError::UnexpectedResponse(resp)) => Some(resp.status),
        _ => None,
    }
}

async fn download<T: TokioTlsStream + Send>(
    ftp: &mut ImplAsyncFtpStream<T>,
    path: &str,
) -> Result<Vec<u8>, FtpError> {
    let mut stream = ftp.retr_as_stream(path).await?;
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .await
        .map_err(FtpError::ConnectionError)?;
    stream.finish().await?;
    Ok(buf)
}

/// Login → PWD → LIST / → CWD → MKD (twice) → 50 STORs → replace → temp name + rename →
/// SIZE/MDTM/HASH → RETR (and REST + RETR) → DELE → a refused non-photo.
async fn camera_flow<T: TokioTlsStream + Send>(
    ftp: &mut ImplAsyncFtpStream<T>,
    gw: &Settings,
    event: &str,
    other_event: &str,
) -> TestResult {
    assert_eq!(ftp.pwd().await?, "/");
    let listing = ftp.list(Some("/")).await?;
    let mut shown: Vec<String> = listing
        .iter()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    shown.sort();
    let mut want = vec![event.to_string(), other_event.to_string()];
    want.sort();
    assert_eq!(shown, want, "LIST / shows exactly the granted events");
    assert!(listing.iter().all(|l| l.starts_with('d')), "{listing:?}");

    ftp.cwd(event).await?;
    assert_eq!(ftp.pwd().await?, format!("/{event}"));
    ftp.mkdir("2026-11-28").await?;
    // Again: refused as existing (550), and the session goes on.
    assert_eq!(
        refused_with(ftp.mkdir("2026-11-28").await),
        Some(Status::FileUnavailable)
    );
    ftp.noop().await?;
    ftp.cwd("2026-11-28").await?;

    let files = burst();
    for (name, data) in &files {
        let sent = ftp.put_file(name, &mut Cursor::new(data)).await?;
        assert_eq!(sent, data.len() as u64);
    }
    let mut names = ftp.nlst(None).await?;
    names.sort();
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, data) in files.iter().step_by(7) {
        assert_eq!(ftp.size(name).await?, data.len());
        assert_eq!(
            &download(ftp, name).await?,
            data,
            "{name} comes back intact"
        );
    }

    // The same name again replaces the photo.
    let replacement = jpeg(999, 7000);
    ftp.put_file("DSC_0000.JPG", &mut Cursor::new(&replacement))
        .await?;
    assert_eq!(ftp.size("DSC_0000.JPG").await?, replacement.len());
    assert_eq!(download(ftp, "DSC_0000.JPG").await?, replacement);

    // WinSCP style: a temporary name, then RNFR/RNTO.
    let fin = jpeg(777, 4321);
    ftp.put_file("IMG_7777.JPG.filepart", &mut Cursor::new(&fin))
        .await?;
    ftp.rename("IMG_7777.JPG.filepart", "IMG_7777.JPG").await?;
    assert!(refused_with(ftp.size("IMG_7777.JPG.filepart").await).is_some());

    assert_eq!(ftp.size("IMG_7777.JPG").await?, fin.len());
    ftp.mdtm("IMG_7777.JPG").await?;
    let hash = ftp
        .custom_command("HASH IMG_7777.JPG", &[Status::File])
        .await?;
    let hash = String::from_utf8_lossy(&hash.body).to_string();
    assert!(
        hash.contains(&format!("SHA-256 0-{} {}", fin.len() - 1, sha256_hex(&fin))),
        "{hash}"
    );

    assert_eq!(download(ftp, "IMG_7777.JPG").await?, fin);
    ftp.resume_transfer(1000).await?;
    assert_eq!(download(ftp, "IMG_7777.JPG").await?, fin[1000..]);

    ftp.rm("IMG_7777.JPG").await?;
    assert_eq!(
        refused_with(ftp.size("IMG_7777.JPG").await),
        Some(Status::FileUnavailable)
    );

    // A shell script with a photo's name: 553 after its first bytes, nothing stored.
    let blobs_before = gw.blob_count();
    let script = b"#!/bin/sh\necho not a photo\n".repeat(20);
    let refused = ftp
        .put_file("DSC_9999.JPG", &mut Cursor::new(&script))
        .await;
    assert_eq!(refused_with(refused), Some(Status::BadFilename));
    assert!(refused_with(ftp.size("DSC_9999.JPG").await).is_some());
    assert_eq!(gw.blob_count(), blobs_before);
    ftp.noop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_flow_plain_ftp() -> TestResult {
    let gw = Gateway::start("plain")?;
    gw.photographer("alice", "alice-secret-1", &["wedding", "gala"])?;
    gw.photographer("bob", "bob-secret-1", &["party"])?;
    let mut ftp = gw.plain("alice", "alice-secret-1").await?;
    let outcome = camera_flow(&mut ftp, &gw, "wedding", "gala").await;
    outcome.map_err(|e| format!("{e}\n--- serve log ---\n{}", gw.log()))?;
    ftp.quit().await?;

    // Bob sees only his event and cannot reach alice's.
    let mut bob = gw.plain("bob", "bob-secret-1").await?;
    let root = bob.nlst(Some("/")).await?;
    assert_eq!(root, vec!["party".to_string()]);
    assert_eq!(
        refused_with(bob.cwd("/wedding").await),
        Some(Status::FileUnavailable)
    );
    bob.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_flow_explicit_ftps() -> TestResult {
    let gw = Gateway::start("tls")?;
    gw.photographer("carol", "carol-secret-1", &["concert", "expo"])?;
    let mut ftp = gw.secure("carol", "carol-secret-1").await?;
    let outcome = camera_flow(&mut ftp, &gw, "concert", "expo").await;
    outcome.map_err(|e| format!("{e}\n--- serve log ---\n{}", gw.log()))?;
    ftp.quit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_530_and_a_good_login_still_works() -> TestResult {
    let gw = Gateway::start("login")?;
    gw.photographer("dave", "dave-secret-1", &["fair"])?;
    let mut ftp = AsyncFtpStream::connect(gw.ftp).await?;
    assert_eq!(
        refused_with(ftp.login("dave", "wrong").await),
        Some(Status::NotLoggedIn)
    );
    drop(ftp);
    let mut ftp = gw.plain("dave", "dave-secret-1").await?;
    assert_eq!(ftp.nlst(Some("/")).await?, vec!["fair".to_string()]);
    ftp.quit().await?;
    Ok(())
}
