//! The `ftpgate` command line: `serve`, operator commands, `sftpgo-config`.
//! Errors are one sentence on stderr and a non-zero exit, never a panic or a backtrace.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ftpgate::base::config::Config;
use ftpgate::base::domain::{EventStatus, Role, rfc3339};
use ftpgate::ops::admin;
use ftpgate::store::catalog::Catalog;

#[derive(Parser)]
#[command(
    name = "ftpgate",
    version,
    about = "FTP/FTPS ingest gateway for event photos",
    after_help = "Example: a photographer, an event, and the right to upload into it\n\n  \
        ftpgate serve &                                   # data in ./data\n  \
        ftpgate photographer add anna                     # prints a generated password once\n  \
        ftpgate event add wedding-2026-06 --name \"Smith wedding\"\n  \
        ftpgate grant add anna wedding-2026-06            # role uploader\n\n\
        Anna's camera then logs in at ftp://HOST:2121 and uploads into /wedding-2026-06.\n\
        Run operator commands where `ftpgate serve` runs, or name its data with --data-dir DIR\n\
        or --config FILE."
)]
struct Cli {
    /// TOML configuration file (every key can also be set as FTPGATE_… environment variable).
    #[arg(long, global = true, env = "FTPGATE_CONFIG")]
    config: Option<PathBuf>,
    /// The gateway's data directory (SQLite catalog, local blobs); the same as FTPGATE_DATA_DIR
    /// or data_dir in the config file. Operator commands need it, or a catalog.url, unless
    /// they run where `ftpgate serve` runs (its ./data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (auth hook, HTTPFs, embedded FTP) until SIGINT/SIGTERM.
    Serve,
    /// Manage photographers.
    #[command(subcommand)]
    Photographer(PhotographerCmd),
    /// Manage events.
    #[command(subcommand)]
    Event(EventCmd),
    /// Manage which photographer may use which event.
    #[command(subcommand)]
    Grant(GrantCmd),
    /// Manage the bearer tokens of the admin REST API (/api/v1).
    #[command(subcommand)]
    AdminToken(AdminTokenCmd),
    /// Print the SFTPGo configuration that puts SFTPGo in front of this gateway (JSON fragment
    /// for sftpgo.json, SFTPGO_… environment variables, or the defender safe list).
    SftpgoConfig(ftpgate::ops::sftpgo_config::Options),
    /// Check that the catalog and the blob store answer (writes, reads, deletes a probe object).
    Check,
    /// Compare catalog and blob store: orphan blobs and entries whose blob is missing.
    Reconcile {
        /// Delete orphan blobs older than the grace period and mark entries whose blob is missing.
        #[arg(long)]
        fix: bool,
        /// Recreate catalog entries for orphan blobs from the metadata stored with them.
        #[arg(long)]
        rebuild: bool,
        /// Orphans younger than this many seconds may belong to uploads committing now.
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
    },
}

#[derive(Subcommand)]
enum PhotographerCmd {
    /// Add a photographer; without --password-stdin a strong password is generated and printed once.
    Add {
        /// 2-64 of a-z 0-9 . _ - (stored in lower case), starting with a letter or digit.
        username: String,
        /// Read the password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List photographers: status and HTTPFs key generation.
    List,
    /// Disable a photographer (logins refused, HTTPFs keys revoked).
    Disable {
        /// The photographer's username.
        username: String,
    },
    /// Enable a disabled photographer again.
    Enable {
        /// The photographer's username.
        username: String,
    },
    /// Set a new password; without --password-stdin one is generated and printed once.
    Passwd {
        /// The photographer's username.
        username: String,
        /// Read the new password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke the photographer's HTTPFs keys (refused within seconds; the next login gets a new one).
    RevokeKeys {
        /// The photographer's username.
        username: String,
    },
    /// Lift the photographer's lock-outs after too many wrong passwords, from every address.
    Unlock {
        /// The photographer's username.
        username: String,
    },
}

#[derive(Subcommand)]
enum EventCmd {
    /// Send this event's upload notifications to its own receiver (without --url: back to the
    /// deployment's webhook). The signing secret is read from standard input with --secret-stdin.
    Webhook {
        /// The event's id.
        event_id: String,
        /// Receiver URL (http or https); not link-local or cloud-metadata addresses.
        #[arg(long)]
        url: Option<String>,
        /// Read the HMAC signing secret from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Send only these types, comma-separated: photo.created, photo.superseded,
        /// photo.deleted, upload.rejected (default: all).
        #[arg(long, value_delimiter = ',')]
        types: Option<Vec<String>>,
    },
    /// Add an event: photographers with a grant see it as a top-level folder.
    Add {
        /// 2-64 of a-z 0-9 . _ - (lower case), starting with a letter or digit: the folder name
        /// photographers see.
        event_id: String,
        /// A display name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// List events: status, files and bytes stored.
    List,
    /// Close an event: listing and download only.
    Close {
        /// The event's id.
        event_id: String,
    },
    /// Re-open a closed event.
    Open {
        /// The event's id.
        event_id: String,
    },
    /// List an event's photos (superseded ones too): id, photographer, path, size, capture
    /// time, camera body, and the newer photo that took the name of a superseded one.
    Uploads {
        /// The event's id.
        event_id: String,
        /// captured_at: by the cameras' capture time, earliest first; default: newest upload
        /// first.
        #[arg(long, value_parser = ["captured_at", "uploaded_at"])]
        sort: Option<String>,
        /// Only photos from the camera body with this serial number.
        #[arg(long)]
        camera_serial: Option<String>,
        /// Only this photographer's photos.
        #[arg(long)]
        photographer: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Archive an event: it disappears from photographers' trees.
    Archive {
        /// The event's id.
        event_id: String,
    },
    /// Change an event's settings; "none" clears one (no limit, no window bound, default types).
    Set {
        /// The event's id.
        event_id: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Uploads refused before this time: RFC 3339 (2026-06-01T09:00:00Z) or none.
        #[arg(long, value_name = "RFC3339|none")]
        starts_at: Option<String>,
        /// Uploads refused from this time on: RFC 3339 or none.
        #[arg(long, value_name = "RFC3339|none")]
        ends_at: Option<String>,
        /// Quota of the whole event in bytes, or none.
        #[arg(long, value_name = "N|none")]
        max_bytes: Option<String>,
        /// Quota of the whole event in files, or none.
        #[arg(long, value_name = "N|none")]
        max_files: Option<String>,
        /// Largest single file in bytes, or none (the deployment's limit).
        #[arg(long, value_name = "N|none")]
        max_file_size: Option<String>,
        /// Comma-separated jpeg, png, heif, raw, xmp, video; or none (the deployment's default).
        #[arg(long, value_name = "TYPES|none")]
        allowed_types: Option<String>,
        /// A different photo under a name already taken: keep_both (the new one takes the
        /// name, the earlier one stays, superseded), replace, or refuse the upload.
        #[arg(long, value_parser = ["keep_both", "replace", "refuse"])]
        on_name_clash: Option<String>,
    },
}

#[derive(Subcommand)]
enum GrantCmd {
    /// Let a photographer use an event: uploader (upload, rename, delete their own files) or
    /// viewer (list and download only).
    Add {
        /// The photographer's username.
        username: String,
        /// The event's id.
        event_id: String,
        /// What the photographer may do in the event.
        #[arg(long, default_value = "uploader", value_parser = ["uploader", "viewer"])]
        role: String,
    },
    /// List every grant: photographer, event, role, quota.
    List,
    /// Take a photographer's access to an event away (their files stay).
    Revoke {
        /// The photographer's username.
        username: String,
        /// The event's id.
        event_id: String,
    },
    /// Change the role or the byte quota ("none" removes it) of an existing grant.
    Set {
        /// The photographer's username.
        username: String,
        /// The event's id.
        event_id: String,
        /// The new role.
        #[arg(long, value_parser = ["uploader", "viewer"])]
        role: Option<String>,
        /// This photographer's byte quota in this event, or none.
        #[arg(long, value_name = "N|none")]
        max_bytes: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminTokenCmd {
    /// Create a token and print it once; only its hash is stored.
    Create {
        /// A name for the token's holder (shown in the audit log), e.g. ops or platform.
        name: String,
    },
    /// List tokens: name, created, last used (never the tokens themselves).
    List,
    /// Revoke the token: refused from its next request on.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// A `none`-or-value CLI setting: absent stays, `none` clears, a value sets.
fn setting<T>(
    flag: &str,
    v: Option<String>,
    parse: impl Fn(&str) -> Result<Option<T>, String>,
) -> anyhow::Result<Option<Option<T>>> {
    v.map(|s| parse(&s).map_err(|e| anyhow::anyhow!("--{flag}: {e}")))
        .transpose()
}

fn show_limit(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "none".into())
}

fn read_password_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().take(4096).read_to_string(&mut s)?;
    let p = s.lines().next().unwrap_or("").to_string();
    if p.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok(p)
}

fn init_logging(cfg: &Config, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else {
        cfg.log.level.as_str()
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: a log file or journald gets plain text.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn fmt_time(ms: Option<i64>) -> String {
    ms.map(rfc3339).unwrap_or_else(|| "-".into())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = Arc::new(Config::load_with(
        cli.config.as_deref(),
        cli.data_dir.as_deref(),
    )?);
    let is_serve = matches!(cli.command, Command::Serve);
    init_logging(&cfg, !is_serve);
    if let Command::SftpgoConfig(opts) = &cli.command {
        print!("{}", ftpgate::ops::sftpgo_config::render(&cfg, opts)?);
        return Ok(());
    }
    if is_serve {
        return ftpgate::app::server::serve(cfg, shutdown_signal()).await;
    }
    // An operator command run from the wrong directory must not make a new, empty catalog
    // the running gateway never reads: when nothing names the data, ./data must hold one.
    if !Config::names_location(cli.config.as_deref(), cli.data_dir.as_deref())? {
        let db = cfg.data_dir.join("catalog.db");
        if !db.exists() {
            let here = std::path::absolute(&db).unwrap_or(db).display().to_string();
            anyhow::bail!(
                "no catalog at {here}: nothing names the gateway's data (no --data-dir, \
                 FTPGATE_DATA_DIR, FTPGATE_CATALOG__URL or config file via --config or \
                 FTPGATE_CONFIG), so ./data was tried and holds none. Point the command at the \
                 gateway's data, e.g. `ftpgate --data-dir /var/lib/ftpgate photographer list` or \
                 `--config /etc/ftpgate.toml`, or run it in the directory `ftpgate serve` runs in"
            );
        }
    }
    if let Command::Check = cli.command {
        let mut failed = false;
        for (what, res) in ftpgate::ops::reconcile::check(&cfg).await {
            match res {
                Ok(m) => println!("{what}: ok, {m}"),
                Err(m) => {
                    failed = true;
                    println!("{what}: FAILED: {m}");
                }
            }
        }
        if failed {
            anyhow::bail!("check failed");
        }
        return Ok(());
    }
    if let Command::Reconcile {
        fix,
        rebuild,
        grace_secs,
    } = cli.command
    {
        return reconcile(&cfg, fix, rebuild, grace_secs).await;
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data_dir {}: {e}", cfg.data_dir.display()))?;
    let catalog = Catalog::connect(&cfg.catalog_url(), Some(2)).await?;
    let res = operator(&catalog, cli.command).await;
    catalog.close().await;
    res
}

async fn operator(catalog: &Catalog, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Photographer(p) => match p {
            PhotographerCmd::Add {
                username,
                password_stdin,
            } => {
                let pw = if password_stdin {
                    Some(read_password_stdin()?)
                } else {
                    None
                };
                let (user, generated) = admin::add_photographer(catalog, &username, pw).await?;
                println!("added photographer {user}");
                if let Some(g) = generated {
                    println!("password (shown once):");
                    println!("{g}");
                }
            }
            PhotographerCmd::List => {
                println!("{:<32} {:<9} {:>4} created", "username", "status", "keys");
                for p in admin::list_photographers(catalog).await? {
                    println!(
                        "{:<32} {:<9} {:>4} {}",
                        p.username,
                        p.status,
                        p.key_generation,
                        rfc3339(p.created_at)
                    );
                }
            }
            PhotographerCmd::Disable { username } => {
                if admin::set_photographer_active(catalog, &username, false).await? {
                    println!("disabled {username}");
                } else {
                    println!("{username} was already disabled");
                }
            }
            PhotographerCmd::Enable { username } => {
                if admin::set_photographer_active(catalog, &username, true).await? {
                    println!("enabled {username}");
                } else {
                    println!("{username} was already enabled");
                }
            }
            PhotographerCmd::Passwd {
                username,
                password_stdin,
            } => {
                let pw = if password_stdin {
                    Some(read_password_stdin()?)
                } else {
                    None
                };
                let generated = admin::set_password(catalog, &username, pw).await?;
                println!("password changed for {username}");
                if let Some(g) = generated {
                    println!("password (shown once):");
                    println!("{g}");
                }
            }
            PhotographerCmd::Unlock { username } => {
                let n = admin::unlock_photographer(catalog, &username).await?;
                catalog
                    .audit(&ftpgate::store::catalog::AuditRecord {
                        door: "cli",
                        action: "admin.photographer.unlock",
                        result: "ok".into(),
                        photographer: Some(username.clone()),
                        detail: Some(format!("{n} address(es) cleared")),
                        ..Default::default()
                    })
                    .await;
                if n == 0 {
                    println!("{username} was not locked out");
                } else {
                    println!("unlocked {username} ({n} address(es) cleared)");
                }
            }
            PhotographerCmd::RevokeKeys { username } => {
                admin::revoke_keys(catalog, &username).await?;
                println!("revoked the HTTPFs keys of {username}");
            }
        },
        Command::Event(e) => match e {
            EventCmd::Add { event_id, name } => {
                let ev = admin::add_event(catalog, &event_id, name.as_deref()).await?;
                println!("added event {} ({})", ev.id, ev.name);
            }
            EventCmd::List => {
                println!(
                    "{:<32} {:<8} {:>8} {:>14} name",
                    "id", "status", "files", "bytes"
                );
                for e in admin::list_events(catalog).await? {
                    println!(
                        "{:<32} {:<8} {:>8} {:>14} {} (window {} .. {})",
                        e.id,
                        e.status,
                        e.used_files,
                        e.used_bytes,
                        e.name,
                        fmt_time(e.starts_at),
                        fmt_time(e.ends_at)
                    );
                }
            }
            EventCmd::Uploads {
                event_id,
                sort,
                camera_serial,
                photographer,
                limit,
            } => {
                let filter = admin::UploadFilter {
                    photographer: photographer.as_deref(),
                    camera_serial: camera_serial.as_deref(),
                    order: if sort.as_deref() == Some("captured_at") {
                        admin::UploadOrder::Captured
                    } else {
                        admin::UploadOrder::Uploaded
                    },
                };
                let (rows, next) =
                    admin::event_uploads(catalog, &event_id, &filter, None, limit).await?;
                println!(
                    "{:<26} {:<16} {:>10} {:<29} {:<14} path",
                    "id", "photographer", "bytes", "captured", "camera"
                );
                for r in rows {
                    let photo = ftpgate::core::outbox::photo_object(r.meta.as_deref());
                    let captured = photo
                        .as_ref()
                        .and_then(|p| p["captured_at"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "-".into());
                    let id = ftpgate::base::domain::photo_id(r.object_key.as_deref().unwrap_or(""))
                        .to_string();
                    let superseded = r
                        .superseded_by
                        .map(|s| format!("  (superseded by {s})"))
                        .unwrap_or_default();
                    println!(
                        "{:<26} {:<16} {:>10} {:<29} {:<14} {}{}",
                        id,
                        r.photographer,
                        r.size,
                        captured,
                        r.camera_serial.as_deref().unwrap_or("-"),
                        r.path,
                        superseded
                    );
                }
                if next.is_some() {
                    println!(
                        "(more: raise --limit, or page with GET /api/v1/events/{event_id}/uploads)"
                    );
                }
            }
            EventCmd::Close { event_id } => {
                admin::set_event_status(catalog, &event_id, EventStatus::Closed).await?;
                println!("closed {event_id}");
            }
            EventCmd::Open { event_id } => {
                admin::set_event_status(catalog, &event_id, EventStatus::Open).await?;
                println!("opened {event_id}");
            }
            EventCmd::Webhook {
                event_id,
                url,
                secret_stdin,
                types,
            } => {
                let secret = if secret_stdin {
                    Some(read_password_stdin()?)
                } else {
                    None
                };
                let types: Option<Vec<String>> =
                    types.map(|t| t.iter().map(|s| s.trim().to_string()).collect());
                admin::set_event_webhook(
                    catalog,
                    &event_id,
                    url.as_deref(),
                    secret.as_deref(),
                    types.as_deref(),
                )
                .await?;
                match url {
                    Some(u) => println!("notifications of {event_id} go to {u}"),
                    None => println!("notifications of {event_id} go to the deployment's webhook"),
                }
                match types {
                    Some(t) => println!("  types sent: {}", t.join(", ")),
                    None => println!("  types sent: all"),
                }
            }
            EventCmd::Archive { event_id } => {
                admin::set_event_status(catalog, &event_id, EventStatus::Archived).await?;
                println!("archived {event_id}");
            }
            EventCmd::Set {
                event_id,
                name,
                starts_at,
                ends_at,
                max_bytes,
                max_files,
                max_file_size,
                allowed_types,
                on_name_clash,
            } => {
                let on_name_clash = on_name_clash
                    .map(|s| ftpgate::base::domain::NameClash::parse(&s))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--on-name-clash: {e}"))?;
                let patch = admin::EventPatch {
                    on_name_clash,
                    name,
                    status: None,
                    starts_at: setting("starts-at", starts_at, admin::parse_optional_time)?,
                    ends_at: setting("ends-at", ends_at, admin::parse_optional_time)?,
                    max_bytes: setting("max-bytes", max_bytes, admin::parse_optional_count)?,
                    max_files: setting("max-files", max_files, admin::parse_optional_count)?,
                    max_file_size: setting(
                        "max-file-size",
                        max_file_size,
                        admin::parse_optional_count,
                    )?,
                    allowed_types: setting(
                        "allowed-types",
                        allowed_types,
                        admin::parse_optional_types,
                    )?,
                };
                let e = admin::update_event(catalog, &event_id, &patch).await?;
                println!("event {} ({}), {}", e.id, e.name, e.status);
                println!(
                    "  window {} .. {}",
                    fmt_time(e.starts_at),
                    fmt_time(e.ends_at)
                );
                println!(
                    "  max bytes {}, max files {}, max file size {}, allowed types {}",
                    show_limit(e.max_bytes),
                    show_limit(e.max_files),
                    show_limit(e.max_file_size),
                    e.allowed_types.as_deref().unwrap_or("default")
                );
                println!("  on a name clash: {}", e.on_name_clash);
            }
        },
        Command::Grant(g) => match g {
            GrantCmd::Add {
                username,
                event_id,
                role,
            } => {
                let role = Role::parse(&role).map_err(|e| anyhow::anyhow!(e))?;
                admin::add_grant(catalog, &username, &event_id, role).await?;
                println!(
                    "granted {} on {event_id} to {}",
                    role.as_str(),
                    username.to_lowercase()
                );
            }
            GrantCmd::List => {
                println!(
                    "{:<32} {:<32} {:<9} {:>8} {:>14}",
                    "username", "event", "role", "files", "bytes"
                );
                for g in admin::list_grants(catalog).await? {
                    println!(
                        "{:<32} {:<32} {:<9} {:>8} {:>14}",
                        g.photographer, g.event, g.role, g.used_files, g.used_bytes
                    );
                }
            }
            GrantCmd::Revoke { username, event_id } => {
                admin::revoke_grant(catalog, &username, &event_id).await?;
                println!("revoked {} on {event_id}", username.to_lowercase());
            }
            GrantCmd::Set {
                username,
                event_id,
                role,
                max_bytes,
            } => {
                let role = role
                    .map(|r| Role::parse(&r).map_err(|e| anyhow::anyhow!(e)))
                    .transpose()?;
                let max_bytes = setting("max-bytes", max_bytes, admin::parse_optional_count)?;
                let g = admin::set_grant(catalog, &username, &event_id, role, max_bytes).await?;
                println!(
                    "grant of {} on {}: {}, max bytes {}",
                    g.photographer,
                    g.event,
                    g.role,
                    show_limit(g.max_bytes)
                );
            }
        },
        Command::AdminToken(t) => match t {
            AdminTokenCmd::Create { name } => {
                let (name, token) = admin::create_admin_token(catalog, &name).await?;
                println!("created admin token {name}");
                println!("token (shown once; send it as Authorization: Bearer <token>):");
                println!("{token}");
            }
            AdminTokenCmd::List => {
                println!("{:<32} {:<8} {:<24} last used", "name", "status", "created");
                for t in admin::list_admin_tokens(catalog).await? {
                    println!(
                        "{:<32} {:<8} {:<24} {}",
                        t.name,
                        if t.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        },
                        rfc3339(t.created_at),
                        fmt_time(t.last_used_at)
                    );
                }
            }
            AdminTokenCmd::Revoke { name } => {
                match admin::revoke_admin_token(catalog, &name).await {
                    Ok(()) => println!("revoked admin token {name}"),
                    Err(admin::AdminError::Core(ftpgate::base::error::CoreError::NotFound)) => {
                        anyhow::bail!("no active admin token named {name}")
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        },
        Command::Serve | Command::SftpgoConfig(_) | Command::Check | Command::Reconcile { .. } => {}
    }
    Ok(())
}

async fn reconcile(cfg: &Config, fix: bool, rebuild: bool, grace_secs: u64) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let catalog = Catalog::connect(&cfg.catalog_url(), Some(2)).await?;
    let blobs = ftpgate::store::blobs::BlobStore::open(cfg).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} blobs {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let opts = ftpgate::ops::reconcile::Options {
        fix,
        rebuild,
        grace_ms: grace_secs as i64 * 1000,
    };
    let report = ftpgate::ops::reconcile::reconcile(&catalog, &blobs, &opts, &progress).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for k in &report.orphans {
        println!("orphan blob: {k}");
    }
    for (e, p, path) in &report.missing {
        println!("missing blob: event {e}, photographer {p}, path {path}");
    }
    println!("{}", report.summary());
    catalog.close().await;
    Ok(())
}

/// glibc raises its mmap threshold each time it frees a large block; after that the S3
/// uploads' 8 MiB part buffers come from the heap arenas, which keep the memory: 200
/// concurrent 50 MiB uploads peaked at 428 MiB with a 256 MiB upload budget
/// (bench/s3_bench.py). A fixed threshold keeps large buffers in mmap, returned when freed.
fn fix_malloc_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

fn main() -> ExitCode {
    fix_malloc_mmap_threshold();
    let cli = Cli::parse();
    // Blocking threads do the file I/O of uploads; a bound makes many concurrent uploads queue
    // instead of growing hundreds of threads (and their allocator arenas).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT or SIGTERM: the gateway drains and stops.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand, argument and flag says what it is for in `--help`.
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let here = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(here.clone());
                }
                for arg in sub.get_arguments() {
                    let id = arg.get_id().as_str();
                    if id != "help" && id != "version" && arg.get_help().is_none() {
                        missing.push(format!("{here} <{id}>"));
                    }
                }
                walk(sub, &here, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "ftpgate", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
