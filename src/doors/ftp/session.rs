//! One FTP session: the state machine of a control connection (RFC 959, 2228/4217, 2389, 2428,
//! 3659, and the MFMT and HASH drafts) and its command handlers, each a translation into one or
//! two core calls.
//!
//! A transfer runs as its own future while the control connection is still read: `ABOR` cancels
//! it, other commands wait in a small queue and are answered in order after the transfer's
//! final reply. Every refusal that can be known before the transfer (path, permission, quota,
//! missing file or directory) is answered before `150`.

use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::codec::{Control, Io, LineError, Prefixed};
use super::command::{self, AuthMech, Command, EpsvArg, Opts, Prot, TypeCode};
use super::data::{self, DataConn, Outcome, Passive};
use super::listing::{self, Access, Facts};
use super::reply::{self, Reply, core_error, quote_path};
use super::{ConnSlot, Shared, UserSlot};
use crate::base::domain::{Door, Username, now_millis};
use crate::base::error::CoreError;
use crate::base::vpath::VPath;
use crate::core::gateway::FileInfo;
use crate::core::identity;
use crate::core::ingest::UploadOptions;
use crate::core::namespace::{self, Location};

/// Commands a client may send before logging in, beyond which it is disconnected.
const MAX_COMMANDS_BEFORE_LOGIN: u32 = 40;
/// Failed logins on one connection before it is closed (the core's lock-out counts too).
const MAX_FAILED_LOGINS: u32 = 3;
/// Commands received during a transfer and answered after it.
const MAX_QUEUED: usize = 16;
/// Bound on a TLS handshake on the control connection.
const CONTROL_TLS_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves once the shutdown flag is set (never if the sender goes away without setting it).
pub async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The addresses of a control connection.
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    /// The client (from the PROXY header when behind a load balancer).
    pub client: SocketAddr,
    /// The address the client connected to (the balancer's when behind one).
    pub local: SocketAddr,
    /// This socket's own local address (where passive listeners are bound).
    pub socket_local: SocketAddr,
}

enum DataPlan {
    Passive(Passive),
    Active(SocketAddr),
}

enum Next {
    Line(Vec<u8>),
    Closed,
    Idle,
    Shutdown,
    TooLong,
}

/// What happened on the control side while a transfer ran.
#[derive(Default)]
struct Watch {
    aborted: bool,
    control_lost: bool,
    shutdown: bool,
}

/// The control connection is unusable: end the session.
type Gone = std::io::Error;

pub(crate) struct Session {
    sh: Arc<Shared>,
    ctrl: Control,
    addrs: Addrs,
    ip: IpAddr,
    tls: bool,
    prot_private: bool,
    pending_user: Option<String>,
    auth: Option<identity::Session>,
    /// The photographer's key generation at login: disabling or revoking bumps it.
    login_generation: i64,
    user_slot: Option<UserSlot>,
    cwd: VPath,
    rest: u64,
    rnfr: Option<VPath>,
    data: Option<DataPlan>,
    epsv_all: bool,
    facts: Facts,
    failed_logins: u32,
    commands_before_login: u32,
    queued: VecDeque<Vec<u8>>,
    shutdown: watch::Receiver<bool>,
    closing: bool,
    idle: Duration,
    /// The verb of the command being answered, for the log line of a refusal.
    verb: String,
    /// The refusal about to be sent is already in the log (a transfer's own line).
    refusal_logged: bool,
}

fn show(p: &VPath) -> String {
    p.to_string()
}

impl Session {
    pub(crate) fn new(
        sh: Arc<Shared>,
        io: Box<dyn Io>,
        addrs: Addrs,
        implicit_tls: bool,
        shutdown: watch::Receiver<bool>,
    ) -> Session {
        let idle = Duration::from_secs(sh.cfg.idle_timeout_secs.max(1));
        Session {
            ip: data::canonical(addrs.client.ip()),
            sh,
            ctrl: Control::new(io),
            addrs,
            tls: implicit_tls,
            // Implicit FTPS clients expect protected data by default.
            prot_private: implicit_tls,
            pending_user: None,
            auth: None,
            verb: String::new(),
            refusal_logged: false,
            login_generation: 0,
            user_slot: None,
            cwd: VPath::root(),
            rest: 0,
            rnfr: None,
            data: None,
            epsv_all: false,
            facts: Facts::default(),
            failed_logins: 0,
            commands_before_login: 0,
            queued: VecDeque::new(),
            shutdown,
            closing: false,
            idle,
        }
    }

    pub(crate) async fn run(mut self, _slot: ConnSlot) {
        tracing::debug!(client = %reply::show_addr(&self.addrs.client), tls = self.tls, "FTP session start");
        let greeting = Reply::new(
            220,
            "ftpgate FTP service ready: log in with your photographer account",
        );
        if self.send(greeting).await.is_err() {
            return;
        }
        loop {
            let line = match self.next_line().await {
                Next::Line(l) => l,
                Next::Closed => break,
                Next::Idle => {
                    let why = if self.auth.is_none() {
                        "No login in time: closing the connection"
                    } else {
                        "Idle for too long: closing the connection"
                    };
                    let _ = self.send(Reply::new(421, why)).await;
                    break;
                }
                Next::Shutdown => {
                    let _ = self
                        .send(Reply::new(
                            421,
                            "Server shutting down: closing the connection",
                        ))
                        .await;
                    break;
                }
                Next::TooLong => {
                    let _ = self
                        .send(Reply::new(
                            500,
                            "Command line too long: closing the connection",
                        ))
                        .await;
                    break;
                }
            };
            if self.auth.is_none() {
                self.commands_before_login += 1;
                if self.commands_before_login > MAX_COMMANDS_BEFORE_LOGIN {
                    let _ = self
                        .send(Reply::new(421, "Too many commands without logging in"))
                        .await;
                    break;
                }
            }
            if self.handle_line(&line).await.is_err() || self.closing {
                break;
            }
        }
        self.ctrl.close(Duration::from_secs(2)).await;
        tracing::debug!(client = %reply::show_addr(&self.addrs.client), "FTP session end");
    }

    async fn send(&mut self, r: Reply) -> Result<(), Gone> {
        self.log_refusal(&r);
        match tokio::time::timeout(self.idle, self.ctrl.send(&r)).await {
            Ok(res) => res,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client does not read its replies",
            )),
        }
    }

    async fn next_line(&mut self) -> Next {
        if let Some(l) = self.queued.pop_front() {
            return Next::Line(l);
        }
        // Before login the wait is short: a connection that never logs in holds a slot.
        let wait = if self.auth.is_none() {
            self.idle
                .min(Duration::from_secs(self.sh.cfg.login_timeout_secs.max(1)))
        } else {
            self.idle
        };
        tokio::select! {
            r = tokio::time::timeout(wait, self.ctrl.read_line()) => match r {
                Ok(Ok(Some(l))) => Next::Line(l),
                Ok(Ok(None)) => Next::Closed,
                Ok(Err(LineError::TooLong)) => Next::TooLong,
                Ok(Err(LineError::Io(_))) => Next::Closed,
                Err(_) => Next::Idle,
            },
            _ = wait_shutdown(&mut self.shutdown) => Next::Shutdown,
        }
    }

    /// One INFO line per refused command (who, from where, the reply), so an operator
    /// tailing the log sees why a camera failed. Protocol chatter (500-504: unknown or
    /// unsupported commands, bad sequences) and probes for files that may not exist are not
    /// refusals; failed logins are logged by the identity.
    fn log_refusal(&mut self, r: &Reply) {
        if std::mem::take(&mut self.refusal_logged) || r.code < 400 {
            return;
        }
        // Probes, and MKD of a folder that exists (cameras make theirs at every connection).
        let probe = matches!(self.verb.as_str(), "SIZE" | "MDTM" | "MLST" | "STAT")
            || (self.verb == "MKD" && r.lines.iter().any(|l| l.ends_with("already exists")));
        if (500..=504).contains(&r.code)
            || r.code == 530
            || r.code == 421
            || (probe && r.code == 550)
        {
            return;
        }
        let user = self.auth.as_ref().map(|s| s.username.to_string());
        tracing::info!(
            door = "ftp", client = %self.ip, user = user.as_deref().unwrap_or("-"),
            command = %self.verb, reply = %format!("{} {}", r.code, r.lines.join(" ")),
            "FTP command refused"
        );
    }

    async fn handle_line(&mut self, line: &[u8]) -> Result<(), Gone> {
        // The verb only (never the argument: PASS carries the password).
        self.verb = line
            .split(|b| *b == b' ')
            .next()
            .unwrap_or_default()
            .iter()
            .take(8)
            .filter(|b| b.is_ascii_alphabetic())
            .map(|b| b.to_ascii_uppercase() as char)
            .collect();
        let cmd = match command::parse(line) {
            Ok(c) => c,
            Err(e) => {
                self.rnfr = None;
                return self.send(Reply::new(e.code(), e.to_string())).await;
            }
        };
        if !matches!(cmd, Command::Pass(_)) {
            tracing::trace!(client = %self.ip, line = %String::from_utf8_lossy(line), "FTP command");
        }
        let rnfr = self.rnfr.take();
        let allowed_before_login = matches!(
            cmd,
            Command::User(_)
                | Command::Pass(_)
                | Command::Quit
                | Command::Noop
                | Command::Syst
                | Command::Feat
                | Command::Opts(_)
                | Command::Help
                | Command::Stat(None)
                | Command::Auth(_)
                | Command::Pbsz(_)
                | Command::Prot(_)
                | Command::Ccc
                | Command::Clnt
                | Command::Abor
        );
        let Some(s) = self.auth.clone() else {
            if !allowed_before_login {
                return self
                    .send(Reply::new(530, "Please log in with USER and PASS first"))
                    .await;
            }
            return self.pre_login(cmd).await;
        };
        // Disabling the photographer or revoking their access ends the session at its next
        // command (NOOPs included), within the identity's STATE_TTL of the change.
        let valid = self
            .sh
            .gw
            .identity()
            .still_valid(&s.username, self.login_generation)
            .await;
        if !matches!(valid, Ok(true)) {
            tracing::info!(client = %self.ip, user = %s.username, "FTP session ended: access disabled or revoked");
            self.closing = true;
            return self
                .send(Reply::new(
                    421,
                    "Your access was disabled or revoked: closing the connection",
                ))
                .await;
        }
        self.logged_in(cmd, s, rnfr).await
    }

    async fn pre_login(&mut self, cmd: Command) -> Result<(), Gone> {
        match cmd {
            Command::User(u) => self.user(u).await,
            Command::Pass(p) => self.pass(p).await,
            other => self.common(other).await,
        }
    }

    /// Commands that behave the same before and after login.
    async fn common(&mut self, cmd: Command) -> Result<(), Gone> {
        let r = match cmd {
            Command::Quit => {
                self.closing = true;
                Reply::new(221, "Goodbye")
            }
            Command::Noop => Reply::new(200, "NOOP ok"),
            Command::Syst => Reply::new(215, "UNIX Type: L8"),
            Command::Feat => self.feat(),
            Command::Opts(o) => self.opts(o),
            Command::Help => help(),
            Command::Stat(None) => self.status(),
            Command::Auth(m) => return self.auth_tls(m).await,
            Command::Pbsz(_) if !self.tls => {
                Reply::new(503, "PBSZ requires a TLS session: send AUTH TLS first")
            }
            Command::Pbsz(_) => Reply::new(200, "PBSZ=0"),
            Command::Prot(p) => self.prot(p),
            Command::Ccc => Reply::new(533, "CCC refused: the control connection stays encrypted"),
            Command::Clnt => Reply::new(200, "Noted"),
            Command::Abor => {
                self.data = None;
                Reply::new(225, "No transfer to abort")
            }
            Command::User(_) => Reply::new(
                503,
                "Already logged in: open a new connection to log in as someone else",
            ),
            Command::Pass(_) => Reply::new(503, "Already logged in"),
            _ => Reply::new(502, "Command not implemented"),
        };
        self.send(r).await
    }

    fn feat(&self) -> Reply {
        let mut l = vec!["Features:".to_string()];
        for f in [
            " AUTH TLS",
            " PBSZ",
            " PROT",
            " UTF8",
            " EPSV",
            " MDTM",
            " MFMT",
            " SIZE",
            " REST STREAM",
            " TVFS",
            " AVBL",
            " HASH SHA-256*",
        ] {
            l.push(f.to_string());
        }
        if self.sh.cfg.active_mode {
            l.push(" EPRT".into());
        }
        l.push(self.facts.feat());
        l.push("End".into());
        Reply::multi(211, l)
    }

    fn opts(&mut self, o: Opts) -> Reply {
        match o {
            Opts::Utf8(true) => Reply::new(200, "UTF8 mode is always on"),
            Opts::Utf8(false) => Reply::new(504, "UTF8 cannot be turned off"),
            Opts::Hash(None) => Reply::new(200, "SHA-256"),
            Opts::Hash(Some(a)) if a == "SHA-256" => Reply::new(200, "SHA-256"),
            Opts::Hash(Some(_)) => Reply::new(501, "Only SHA-256 is supported"),
            Opts::Mlst(names) => {
                self.facts = Facts::select(&names);
                Reply::new(200, format!("MLST OPTS {}", self.facts.selected()))
            }
            Opts::Other(name) => Reply::new(501, format!("Option {name} not understood")),
        }
    }

    fn status(&self) -> Reply {
        let who = match &self.auth {
            Some(s) => format!(" Logged in as {}", s.username),
            None => " Not logged in".to_string(),
        };
        Reply::multi(
            211,
            vec![
                "ftpgate FTP server status:".into(),
                format!(" Connected from {}", self.ip),
                who,
                format!(
                    " Control connection {}; data connections {}",
                    if self.tls {
                        "encrypted (TLS)"
                    } else {
                        "in clear text"
                    },
                    if self.prot_private {
                        "encrypted"
                    } else {
                        "in clear text"
                    }
                ),
                " TYPE: BINARY; STRUcture: File; transfer MODE: Stream".into(),
                "End of status".into(),
            ],
        )
    }

    fn prot(&mut self, p: Prot) -> Reply {
        if !self.tls {
            return Reply::new(503, "PROT requires a TLS session: send AUTH TLS first");
        }
        match p {
            Prot::Private => {
                self.prot_private = true;
                Reply::new(200, "Protection level set to Private")
            }
            Prot::Clear if self.sh.cfg.require_tls => Reply::new(
                534,
                "PROT C refused: this server requires encrypted data connections (PROT P)",
            ),
            Prot::Clear => {
                self.prot_private = false;
                Reply::new(200, "Protection level set to Clear")
            }
            Prot::Other(c) => Reply::new(
                536,
                format!("Protection level {} not supported: use PROT P", c as char),
            ),
        }
    }

    async fn auth_tls(&mut self, _m: AuthMech) -> Result<(), Gone> {
        if self.tls {
            return self.send(Reply::new(503, "Already using TLS")).await;
        }
        self.send(Reply::new(
            234,
            "AUTH TLS successful: start the TLS handshake",
        ))
        .await?;
        // Bytes the client sent after the command (its ClientHello, if it did not wait for our
        // reply) are handed to TLS, never parsed as commands.
        let (io, rest) = self.ctrl.take();
        let stream = Prefixed::new(rest, io);
        let acceptor = self.sh.tls.control.clone();
        match tokio::time::timeout(CONTROL_TLS_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                self.ctrl = Control::new(Box::new(tls));
                self.tls = true;
                // RFC 4217 §4: a new security context resets the login.
                self.pending_user = None;
                self.auth = None;
                self.user_slot = None;
                self.cwd = VPath::root();
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::debug!(client = %self.ip, error = %e, "control TLS handshake failed");
                Err(e)
            }
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "control TLS handshake timed out",
            )),
        }
    }

    async fn user(&mut self, name: String) -> Result<(), Gone> {
        if self.sh.cfg.require_tls && !self.tls {
            return self
                .send(Reply::new(
                    530,
                    "TLS required: connect with explicit FTPS (AUTH TLS) before logging in",
                ))
                .await;
        }
        let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        self.pending_user = Some(name);
        self.send(Reply::new(331, format!("Password required for {shown}")))
            .await
    }

    async fn pass(&mut self, password: String) -> Result<(), Gone> {
        if self.sh.cfg.require_tls && !self.tls {
            return self
                .send(Reply::new(
                    530,
                    "TLS required: connect with explicit FTPS (AUTH TLS) before logging in",
                ))
                .await;
        }
        let Some(user) = self.pending_user.take() else {
            return self.send(Reply::new(503, "Send USER first")).await;
        };
        let gw = self.sh.gw.clone();
        let res = gw
            .identity()
            .login(&user, &password, Some(self.ip), Door::Ftp)
            .await
            .and_then(|row| {
                Username::parse(&row.username)
                    .map(|u| (u, row.key_generation))
                    .map_err(|_| CoreError::Unauthorized)
            });
        match res {
            Ok((username, generation)) => {
                self.login_generation = generation;
                let Some(slot) = self.sh.admit_user(username.as_str()) else {
                    return self
                        .send(Reply::new(
                            530,
                            format!(
                                "Too many sessions for {username}: close another connection first"
                            ),
                        ))
                        .await;
                };
                tracing::info!(client = %self.ip, user = %username, tls = self.tls, "FTP login");
                self.user_slot = Some(slot);
                self.cwd = VPath::root();
                let text = format!("Logged in as {username}: your events are the folders in /");
                self.auth = Some(identity::Session {
                    username,
                    ip: Some(self.ip),
                    door: Door::Ftp,
                });
                self.send(Reply::new(230, text)).await
            }
            Err(e) => {
                self.failed_logins += 1;
                let r = match e {
                    CoreError::LockedOut | CoreError::Unauthorized => core_error(&e, ""),
                    CoreError::Catalog(_) | CoreError::Storage(_) => Reply::new(
                        421,
                        "Login service temporarily unavailable, try again later",
                    ),
                    _ => Reply::new(530, "Login incorrect"),
                };
                if r.code == 421 || self.failed_logins >= MAX_FAILED_LOGINS {
                    self.closing = true;
                }
                self.send(r).await
            }
        }
    }

    fn resolve(&self, arg: &[u8]) -> Result<VPath, Reply> {
        self.cwd.resolve(arg).map_err(|e| reply::bad_path(&e))
    }

    async fn logged_in(
        &mut self,
        cmd: Command,
        s: identity::Session,
        rnfr: Option<VPath>,
    ) -> Result<(), Gone> {
        let r = match cmd {
            Command::Pwd => Reply::new(
                257,
                format!("{} is the current directory", quote_path(&show(&self.cwd))),
            ),
            Command::Cwd(a) => self.cwd(&s, &a).await,
            Command::Cdup => self.cwd(&s, b"..").await,
            Command::Mkd(a) => self.mkd(&s, &a).await,
            Command::Rmd(a) => self.rmd(&s, &a).await,
            Command::Dele(a) => self.dele(&s, &a).await,
            Command::Rnfr(a) => self.rnfr(&s, &a).await,
            Command::Rnto(a) => self.rnto(&s, &a, rnfr).await,
            Command::Type(TypeCode::Image) => Reply::new(200, "Type set to I"),
            Command::Type(TypeCode::Ascii) => Reply::new(
                200,
                "Type set to A (files are always transferred as binary)",
            ),
            Command::Mode(b'S') => Reply::new(200, "Mode set to S"),
            Command::Mode(_) => Reply::new(504, "Only MODE S (stream) is supported"),
            Command::Stru(b'F') => Reply::new(200, "Structure set to F"),
            Command::Stru(_) => Reply::new(504, "Only STRU F (file) is supported"),
            Command::Allo => Reply::new(202, "ALLO not needed"),
            Command::Pasv => self.pasv().await,
            Command::Epsv(a) => self.epsv(a),
            Command::Port(a) | Command::Eprt(a) => self.port(a),
            Command::List(a) => return self.list(&s, a, ListKind::List).await,
            Command::Nlst(a) => return self.list(&s, a, ListKind::Nlst).await,
            Command::Mlsd(a) => return self.list(&s, a, ListKind::Mlsd).await,
            Command::Mlst(a) => self.mlst(&s, a).await,
            Command::Stat(Some(a)) => self.stat_path(&s, &a).await,
            Command::Size(a) => self.size(&s, &a).await,
            Command::Mdtm(a) => self.mdtm(&s, &a).await,
            Command::Mfmt { mtime, path } => self.mfmt(&s, mtime, &path).await,
            Command::Retr(a) => return self.retr(&s, &a).await,
            Command::Stor(a) => return self.stor(&s, &a, false).await,
            Command::Appe(a) => return self.stor(&s, &a, true).await,
            Command::Stou => Reply::new(502, "STOU not supported: use STOR with a name"),
            Command::Rest(n) => {
                self.rest = n;
                Reply::new(
                    350,
                    format!(
                        "Restarting at {n}: send RETR to resume a download (uploads cannot be resumed)"
                    ),
                )
            }
            Command::Avbl(a) => self.avbl(&s, a).await,
            Command::Hash(a) => self.hash(&s, &a).await,
            Command::Site(text) => {
                let up = text.trim_start().to_ascii_uppercase();
                if up.starts_with("CHMOD") {
                    Reply::new(200, "SITE CHMOD ignored: photos have no Unix permissions")
                } else {
                    Reply::new(502, "SITE commands are not supported")
                }
            }
            Command::Rein => Reply::new(502, "REIN not supported: open a new connection"),
            other => return self.common(other).await,
        };
        self.send(r).await
    }

    async fn cwd(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(fi) if fi.is_dir => {
                let text = format!("Directory changed to {}", show(&p));
                self.cwd = p;
                Reply::new(250, text)
            }
            Ok(_) => core_error(&CoreError::NotADirectory, &show(&p)),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn mkd(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.mkdir(s, &p).await {
            Ok(()) => Reply::new(257, format!("{} created", quote_path(&show(&p)))),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn rmd(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(fi) if !fi.is_dir => {
                return Reply::new(550, format!("{}: not a directory (use DELE)", show(&p)));
            }
            Ok(_) => {}
            Err(e) => return core_error(&e, &show(&p)),
        }
        match self.sh.gw.remove(s, &p).await {
            Ok(()) => {
                if self.cwd.starts_with(&p) {
                    // The working directory is gone: move up out of it.
                    self.cwd = p.parent().unwrap_or_else(VPath::root);
                }
                Reply::new(250, format!("Directory {} removed", show(&p)))
            }
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn dele(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(fi) if fi.is_dir => {
                return Reply::new(550, format!("{}: is a directory (use RMD)", show(&p)));
            }
            Ok(_) => {}
            Err(e) => return core_error(&e, &show(&p)),
        }
        match self.sh.gw.remove(s, &p).await {
            Ok(()) => Reply::new(250, format!("{} deleted", show(&p))),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn rnfr(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(_) => {
                self.rnfr = Some(p);
                Reply::new(350, "Ready for the destination name (RNTO)")
            }
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn rnto(&mut self, s: &identity::Session, a: &[u8], from: Option<VPath>) -> Reply {
        let Some(from) = from else {
            return Reply::new(503, "Send RNFR first");
        };
        let to = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.rename(s, &from, &to).await {
            Ok(()) => Reply::new(250, format!("Renamed {} to {}", show(&from), show(&to))),
            Err(e) => core_error(&e, &show(&from)),
        }
    }

    async fn size(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(fi) if fi.is_dir => Reply::new(550, format!("{}: not a regular file", show(&p))),
            Ok(fi) => Reply::new(213, fi.size.to_string()),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn mdtm(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.stat(s, &p).await {
            Ok(fi) => Reply::new(213, listing::time_val(fi.mtime)),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn mfmt(&mut self, s: &identity::Session, mtime: i64, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.set_mtime(s, &p, mtime).await {
            Ok(()) => Reply::new(
                213,
                format!(
                    "Modify={}; {}",
                    listing::time_val(mtime),
                    String::from_utf8_lossy(a)
                ),
            ),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn avbl(&mut self, s: &identity::Session, a: Option<Vec<u8>>) -> Reply {
        let p = match a {
            Some(a) => match self.resolve(&a) {
                Ok(p) => p,
                Err(r) => return r,
            },
            None => self.cwd.clone(),
        };
        match self.sh.gw.space(s, &p).await {
            Ok(sp) => Reply::new(213, sp.free_bytes.to_string()),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    async fn hash(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return r,
        };
        match self.sh.gw.sha256(s, &p).await {
            Ok((hex, size)) => Reply::new(
                213,
                format!(
                    "SHA-256 0-{} {hex} {}",
                    size.saturating_sub(1),
                    String::from_utf8_lossy(a)
                ),
            ),
            Err(e) => core_error(&e, &show(&p)),
        }
    }

    // --- access verdicts for listings ------------------------------------------------

    /// How the entries of directory `dir` may be used: decides mode bits and `perm` facts.
    async fn entry_access(&self, s: &identity::Session, dir: &VPath) -> EntryAccess {
        let catalog = self.sh.gw.catalog();
        match namespace::resolve(catalog, s, dir).await {
            Ok(Location::Root) => {
                let writable = namespace::visible_events(catalog, s)
                    .await
                    .map(|v| {
                        v.into_iter()
                            .filter(|a| a.read_only.is_none())
                            .map(|a| a.ns.event)
                            .collect()
                    })
                    .unwrap_or_default();
                EntryAccess::Events(writable)
            }
            Ok(Location::EventRoot(a)) | Ok(Location::Inside(a, _)) if a.read_only.is_none() => {
                EntryAccess::All(Access::Writable)
            }
            _ => EntryAccess::All(Access::ReadOnly),
        }
    }

    async fn mlst(&mut self, s: &identity::Session, a: Option<Vec<u8>>) -> Reply {
        let p = match a {
            Some(a) => match self.resolve(&a) {
                Ok(p) => p,
                Err(r) => return r,
            },
            None => self.cwd.clone(),
        };
        let fi = match self.sh.gw.stat(s, &p).await {
            Ok(fi) => fi,
            Err(e) => return core_error(&e, &show(&p)),
        };
        let access = match p.parent() {
            Some(parent) => self.entry_access(s, &parent).await.of(&fi),
            None => Access::ReadOnly,
        };
        Reply::multi(
            250,
            vec![
                format!("Listing {}", show(&p)),
                listing::mlst_line(&fi, access, &self.facts, &show(&p)),
                "End".into(),
            ],
        )
    }

    /// The entries a listing shows for `p` (a directory's children, or the file itself), with
    /// the access of each; errors as a reply (sent before any 150).
    async fn entries(
        &mut self,
        s: &identity::Session,
        p: &VPath,
    ) -> Result<(bool, Vec<(FileInfo, Access)>), Reply> {
        let fi = self
            .sh
            .gw
            .stat(s, p)
            .await
            .map_err(|e| core_error(&e, &show(p)))?;
        if !fi.is_dir {
            let access = match p.parent() {
                Some(parent) => self.entry_access(s, &parent).await.of(&fi),
                None => Access::ReadOnly,
            };
            return Ok((false, vec![(fi, access)]));
        }
        let mut list = self
            .sh
            .gw
            .read_dir(s, p)
            .await
            .map_err(|e| core_error(&e, &show(p)))?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        let acc = self.entry_access(s, p).await;
        Ok((
            true,
            list.into_iter()
                .map(|f| {
                    let a = acc.of(&f);
                    (f, a)
                })
                .collect(),
        ))
    }

    async fn stat_path(&mut self, s: &identity::Session, a: &[u8]) -> Reply {
        let target = command::list_arg(Some(a)).unwrap_or_else(|| b".".to_vec());
        let p = match self.resolve(&target) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let (_, list) = match self.entries(s, &p).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let now = now_millis();
        let mut lines = vec![format!("Status of {}:", show(&p))];
        for (fi, acc) in &list {
            lines.push(format!(
                " {}",
                listing::list_line(fi, *acc, s.username.as_str(), now)
            ));
        }
        lines.push("End of status".into());
        Reply::multi(213, lines)
    }

    // --- data connections ------------------------------------------------------------

    /// The IPv4 address announced in a 227 reply.
    async fn pasv_address(&self) -> Option<Ipv4Addr> {
        if let Some(host) = &self.sh.cfg.passive_host {
            if let Ok(ip) = host.parse::<IpAddr>() {
                return match ip.to_canonical() {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                };
            }
            let found = tokio::net::lookup_host((host.as_str(), 0)).await.ok()?;
            for a in found {
                if let IpAddr::V4(v4) = a.ip().to_canonical() {
                    return Some(v4);
                }
            }
            return None;
        }
        match self.addrs.local.ip().to_canonical() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }
    }

    fn bind_passive(&mut self) -> Result<Passive, Reply> {
        self.data = None; // a new PASV replaces the previous listener
        data::bind_passive(
            self.addrs.socket_local.ip(),
            self.sh.passive_range,
            &self.sh.next_port,
        )
        .map_err(|e| {
            tracing::warn!(error = %e, "no passive port available");
            Reply::new(425, "No passive port available, try again later")
        })
    }

    async fn pasv(&mut self) -> Reply {
        if self.epsv_all {
            return Reply::new(503, "EPSV ALL in effect: use EPSV");
        }
        let Some(ip) = self.pasv_address().await else {
            return Reply::new(425, "PASV needs an IPv4 address: use EPSV");
        };
        match self.bind_passive() {
            Ok(p) => {
                let r = reply::pasv(ip, p.port);
                self.data = Some(DataPlan::Passive(p));
                r
            }
            Err(r) => r,
        }
    }

    fn epsv(&mut self, a: EpsvArg) -> Reply {
        match a {
            EpsvArg::All => {
                self.epsv_all = true;
                return Reply::new(200, "EPSV ALL ok");
            }
            EpsvArg::Proto(n) => {
                let v4 = self.addrs.socket_local.ip().to_canonical().is_ipv4();
                if (n == 1) != v4 {
                    return Reply::new(
                        522,
                        if v4 {
                            "Network protocol not supported, use (1)"
                        } else {
                            "Network protocol not supported, use (2)"
                        },
                    );
                }
            }
            EpsvArg::Any => {}
        }
        match self.bind_passive() {
            Ok(p) => {
                let r = reply::epsv(p.port);
                self.data = Some(DataPlan::Passive(p));
                r
            }
            Err(r) => r,
        }
    }

    fn port(&mut self, a: SocketAddr) -> Reply {
        if !self.sh.cfg.active_mode {
            return Reply::new(
                502,
                "Active mode (PORT/EPRT) is disabled here: use passive mode (PASV/EPSV)",
            );
        }
        if self.epsv_all {
            return Reply::new(503, "EPSV ALL in effect: use EPSV");
        }
        // Bounce protection: only to the client itself, never to a privileged port.
        if data::canonical(a.ip()) != self.ip || a.port() < 1024 {
            return Reply::new(
                501,
                "Illegal PORT: the data address must be your own, on a port above 1023",
            );
        }
        self.data = Some(DataPlan::Active(a));
        Reply::new(200, "PORT command successful")
    }

    /// Checks that a transfer may use a data connection now (protection, a PASV/PORT first);
    /// the plan is taken (each one serves one transfer).
    fn take_plan(&mut self) -> Result<DataPlan, Reply> {
        if self.sh.cfg.require_tls && !self.prot_private {
            self.data = None;
            return Err(Reply::new(
                521,
                "Data connections must be encrypted here: send PBSZ 0 and PROT P",
            ));
        }
        self.data
            .take()
            .ok_or_else(|| Reply::new(425, "Use PASV or EPSV first"))
    }

    async fn open_tcp(&self, plan: DataPlan) -> Result<tokio::net::TcpStream, Reply> {
        let r = match plan {
            DataPlan::Passive(p) => {
                data::accept_from(
                    &p.listener,
                    self.ip,
                    self.sh
                        .cfg
                        .proxy_protocol
                        .then_some(self.sh.cfg.proxy_allowed.as_slice()),
                    data::CONNECT_TIMEOUT,
                )
                .await
            }
            DataPlan::Active(a) => data::connect_active(a).await,
        };
        r.map_err(|e| {
            tracing::debug!(client = %self.ip, error = %e, "no data connection");
            Reply::new(425, "Cannot open the data connection")
        })
    }

    async fn secure(&self, tcp: tokio::net::TcpStream) -> Result<DataConn, Reply> {
        let acceptor = self.prot_private.then_some(&self.sh.tls.data);
        data::secure(tcp, acceptor).await.map_err(|e| {
            tracing::info!(client = %self.ip, error = %e, "data connection TLS handshake failed");
            Reply::new(425, "TLS handshake on the data connection failed")
        })
    }

    /// Runs a transfer future while watching the control connection (ABOR, queued commands,
    /// lost control connection) and the shutdown flag (grace period, then cancel).
    async fn supervise(
        &mut self,
        fut: impl Future<Output = Outcome>,
        cancel: oneshot::Sender<()>,
    ) -> (Outcome, Watch) {
        tokio::pin!(fut);
        let mut cancel = Some(cancel);
        let mut w = Watch::default();
        let grace = tokio::time::sleep(Duration::from_secs(u64::MAX / 4));
        tokio::pin!(grace);
        loop {
            tokio::select! {
                out = &mut fut => return (out, w),
                line = self.ctrl.read_line(), if !w.control_lost && !w.aborted => match line {
                    Ok(Some(l)) => {
                        if matches!(command::parse(&l), Ok(Command::Abor)) {
                            w.aborted = true;
                            if let Some(c) = cancel.take() { let _ = c.send(()); }
                        } else if self.queued.len() < MAX_QUEUED {
                            self.queued.push_back(l);
                        }
                    }
                    Ok(None) | Err(_) => {
                        // The client went away: a transfer without its control connection
                        // cannot be confirmed, so it is cancelled (an upload stores nothing).
                        w.control_lost = true;
                        if let Some(c) = cancel.take() { let _ = c.send(()); }
                    }
                },
                _ = wait_shutdown(&mut self.shutdown), if !w.shutdown => {
                    w.shutdown = true;
                    let secs = self.sh.cfg.shutdown_grace_secs;
                    grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(secs));
                }
                _ = &mut grace, if w.shutdown && cancel.is_some() => {
                    tracing::warn!(client = %self.ip, "grace period over: aborting a transfer");
                    if let Some(c) = cancel.take() { let _ = c.send(()); }
                }
            }
        }
    }

    /// Sends the final reply of a transfer, plus the ABOR/shutdown follow-ups.
    async fn finish_transfer(&mut self, r: Reply, w: Watch) -> Result<(), Gone> {
        if w.control_lost {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "control connection lost during a transfer",
            ));
        }
        self.send(r).await?;
        if w.aborted {
            self.send(Reply::new(226, "ABOR successful")).await?;
        }
        if w.shutdown {
            self.send(Reply::new(
                421,
                "Server shutting down: closing the connection",
            ))
            .await?;
            self.closing = true;
        }
        Ok(())
    }

    fn outcome_reply(&self, o: &Outcome, w: &Watch, what: &str) -> Reply {
        match o {
            Outcome::Sent(_) => Reply::new(226, "Transfer complete"),
            Outcome::Stored(c) if c.unchanged => Reply::new(
                226,
                format!(
                    "Transfer complete: {what} is identical to the stored file ({} bytes)",
                    c.size
                ),
            ),
            Outcome::Stored(c) => Reply::new(
                226,
                format!("Transfer complete: {what} stored ({} bytes)", c.size),
            ),
            Outcome::Refused(e) => core_error(e, what),
            Outcome::Cut(_) => Reply::new(
                426,
                "Data connection closed before the end: transfer aborted",
            ),
            Outcome::Idle => Reply::new(426, "Data connection idle for too long: transfer aborted"),
            Outcome::SourceFailed(e) => {
                tracing::warn!(detail = ?e, what, "reading a stored file failed: detail");
                tracing::error!(kind = "storage", what, "reading a stored file failed");
                Reply::new(451, "Reading the file failed: try again later")
            }
            Outcome::Cancelled if w.shutdown && !w.aborted => {
                Reply::new(426, "Server shutting down: transfer aborted")
            }
            Outcome::Cancelled => Reply::new(426, "Transfer aborted"),
        }
    }

    /// `LIST *.JPG`, `NLST DSC_00??.NEF`: when no entry has that name, the entries of the
    /// parent directory that match it (possibly none). MLSD takes no patterns (RFC 3659).
    async fn pattern_entries(
        &mut self,
        s: &identity::Session,
        p: &VPath,
        kind: ListKind,
    ) -> Option<(bool, Vec<(FileInfo, Access)>)> {
        let pattern = p.file_name().filter(|n| listing::is_pattern(n))?;
        if kind == ListKind::Mlsd {
            return None;
        }
        let (is_dir, entries) = self.entries(s, &p.parent()?).await.ok()?;
        let matching = entries
            .into_iter()
            .filter(|(fi, _)| listing::matches_pattern(pattern, &fi.name))
            .collect();
        is_dir.then_some((true, matching))
    }

    async fn list(
        &mut self,
        s: &identity::Session,
        a: Option<Vec<u8>>,
        kind: ListKind,
    ) -> Result<(), Gone> {
        self.rest = 0;
        let p = match a {
            Some(a) => match self.resolve(&a) {
                Ok(p) => p,
                Err(r) => return self.send(r).await,
            },
            None => self.cwd.clone(),
        };
        let plan = match self.take_plan() {
            Ok(pl) => pl,
            Err(r) => return self.send(r).await,
        };
        let (is_dir, list) = match self.entries(s, &p).await {
            Ok(x) => x,
            Err(r) => match self.pattern_entries(s, &p, kind).await {
                Some(x) => x,
                None => return self.send(r).await,
            },
        };
        if kind == ListKind::Mlsd && !is_dir {
            return self
                .send(Reply::new(
                    501,
                    format!("{}: not a directory (use MLST)", show(&p)),
                ))
                .await;
        }
        let now = now_millis();
        let body = listing::join_lines(list.iter().map(|(fi, acc)| match kind {
            ListKind::List => listing::list_line(fi, *acc, s.username.as_str(), now),
            ListKind::Nlst => fi.name.clone(),
            ListKind::Mlsd => listing::mlsd_line(fi, *acc, &self.facts),
        }));
        let tcp = match self.open_tcp(plan).await {
            Ok(t) => t,
            Err(r) => return self.send(r).await,
        };
        self.send(Reply::new(
            150,
            format!("Here comes the listing of {}", show(&p)),
        ))
        .await?;
        let conn = match self.secure(tcp).await {
            Ok(c) => c,
            Err(r) => return self.send(r).await,
        };
        let (tx, rx) = oneshot::channel();
        let (o, w) = self
            .supervise(data::send_bytes(conn, body, self.idle, rx), tx)
            .await;
        let r = self.outcome_reply(&o, &w, &show(&p));
        self.finish_transfer(r, w).await
    }

    async fn retr(&mut self, s: &identity::Session, a: &[u8]) -> Result<(), Gone> {
        let offset = std::mem::take(&mut self.rest);
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return self.send(r).await,
        };
        let plan = match self.take_plan() {
            Ok(pl) => pl,
            Err(r) => return self.send(r).await,
        };
        let dl = match self.sh.gw.open(s, &p, offset).await {
            Ok(d) => d,
            Err(CoreError::BadRequest(m)) => {
                return self
                    .send(Reply::new(554, format!("Invalid REST position: {m}")))
                    .await;
            }
            Err(e) => return self.send(core_error(&e, &show(&p))).await,
        };
        let tcp = match self.open_tcp(plan).await {
            Ok(t) => t,
            Err(r) => return self.send(r).await,
        };
        let text = if offset > 0 {
            format!(
                "Opening BINARY mode data connection for {} ({} bytes, from offset {offset})",
                show(&p),
                dl.size
            )
        } else {
            format!(
                "Opening BINARY mode data connection for {} ({} bytes)",
                show(&p),
                dl.size
            )
        };
        self.send(Reply::new(150, text)).await?;
        let conn = match self.secure(tcp).await {
            Ok(c) => c,
            Err(r) => return self.send(r).await,
        };
        let (tx, rx) = oneshot::channel();
        let (o, w) = self
            .supervise(data::send_stream(conn, dl.stream, self.idle, rx), tx)
            .await;
        let r = self.outcome_reply(&o, &w, &show(&p));
        self.finish_transfer(r, w).await
    }

    async fn stor(&mut self, s: &identity::Session, a: &[u8], append: bool) -> Result<(), Gone> {
        let offset = std::mem::take(&mut self.rest);
        let p = match self.resolve(a) {
            Ok(p) => p,
            Err(r) => return self.send(r).await,
        };
        if offset > 0 {
            self.data = None;
            return self
                .send(Reply::new(
                    550,
                    format!(
                        "{}: resume not supported (REST {offset} + STOR): upload the whole file again",
                        show(&p)
                    ),
                ))
                .await;
        }
        if append {
            match self.sh.gw.stat(s, &p).await {
                Ok(_) => {
                    self.data = None;
                    return self
                        .send(Reply::new(
                            550,
                            format!(
                                "{}: resume not supported (APPE to an existing file): upload the whole file again",
                                show(&p)
                            ),
                        ))
                        .await;
                }
                Err(CoreError::NotFound) => {}
                Err(e) => {
                    self.data = None;
                    return self.send(core_error(&e, &show(&p))).await;
                }
            }
        }
        let plan = match self.take_plan() {
            Ok(pl) => pl,
            Err(r) => return self.send(r).await,
        };
        // Missing folders are made, as on the SFTPGo door: cameras send
        // `STOR DCIM/100EOS/IMG_0001.JPG` without an MKD first.
        let opts = UploadOptions {
            exclusive: false,
            parent_must_exist: false,
        };
        let upload = match self.sh.gw.begin_upload(s, &p, opts).await {
            Ok(u) => u,
            Err(CoreError::NotFound) => {
                // Only the event folder itself can be missing now: name it, not the photo.
                let folder = show(&p)
                    .split('/')
                    .find(|seg| !seg.is_empty())
                    .map(|e| format!("/{e}"))
                    .unwrap_or_else(|| "/".into());
                return self
                    .send(Reply::new(
                        550,
                        format!(
                            "{folder}: no such event folder (nothing stored); LIST / shows yours"
                        ),
                    ))
                    .await;
            }
            Err(e) => return self.send(core_error(&e, &show(&p))).await,
        };
        let tcp = match self.open_tcp(plan).await {
            Ok(t) => t,
            Err(r) => {
                upload.abort(&CoreError::Aborted).await;
                return self.send(r).await;
            }
        };
        if let Err(e) = self
            .send(Reply::new(150, format!("Ok to send data for {}", show(&p))))
            .await
        {
            upload.abort(&CoreError::Aborted).await;
            return Err(e);
        }
        let conn = match self.secure(tcp).await {
            Ok(c) => c,
            Err(r) => {
                upload.abort(&CoreError::Aborted).await;
                return self.send(r).await;
            }
        };
        let (tx, rx) = oneshot::channel();
        // A stalled upload holds S3 buffer memory every other upload needs: its own, shorter bound.
        let stall = Duration::from_secs(self.sh.gw.config().upload.body_idle_timeout_secs);
        let (o, w) = self
            .supervise(data::receive(conn, upload, stall.min(self.idle), rx), tx)
            .await;
        if let Outcome::Stored(c) = &o {
            tracing::info!(
                client = %self.ip, user = %s.username, path = %p, size = c.size,
                replaced = c.replaced, unchanged = c.unchanged, "FTP upload stored"
            );
        }
        let r = match &o {
            Outcome::Cut(_) | Outcome::Idle | Outcome::Cancelled => {
                let base = self.outcome_reply(&o, &w, &show(&p));
                Reply::new(
                    base.code,
                    format!("{}; nothing stored", base.lines.join(" ")),
                )
            }
            _ => self.outcome_reply(&o, &w, &show(&p)),
        };
        if !matches!(o, Outcome::Stored(_)) {
            tracing::info!(
                door = "ftp", client = %self.ip, user = %s.username, path = %p, outcome = ?o,
                reply = %format!("{} {}", r.code, r.lines.join(" ")), "FTP upload not stored"
            );
            self.refusal_logged = true;
        }
        self.finish_transfer(r, w).await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListKind {
    List,
    Nlst,
    Mlsd,
}

enum EntryAccess {
    All(Access),
    /// At `/`: the events where writing is allowed now.
    Events(Vec<String>),
}

impl EntryAccess {
    fn of(&self, fi: &FileInfo) -> Access {
        match self {
            EntryAccess::All(a) => *a,
            EntryAccess::Events(w) if w.iter().any(|e| e == &fi.name) => Access::EventRoot,
            EntryAccess::Events(_) => Access::ReadOnly,
        }
    }
}

fn help() -> Reply {
    Reply::multi(
        214,
        vec![
            "The following commands are recognized:".into(),
            " USER PASS QUIT NOOP SYST FEAT OPTS HELP STAT PWD  CWD  CDUP MKD  RMD  DELE".into(),
            " RNFR RNTO TYPE MODE STRU ALLO PASV EPSV PORT EPRT LIST NLST MLSD MLST SIZE".into(),
            " MDTM MFMT RETR STOR APPE REST ABOR AVBL HASH AUTH PBSZ PROT CCC  CLNT SITE".into(),
            "Help OK".into(),
        ],
    )
}
