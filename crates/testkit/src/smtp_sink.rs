//! A local SMTP server for tests: it accepts mail on 127.0.0.1 and keeps it in
//! memory, so email delivery is tested over a real socket with a real protocol.
//!
//! It speaks what a sending client needs: greeting, `EHLO`/`HELO`, optional
//! `STARTTLS` (a self-signed certificate for 127.0.0.1 made at start, see
//! [`SmtpSink::certificate_pem`]), optional `AUTH PLAIN`/`AUTH LOGIN`, `MAIL`,
//! `RCPT`, `DATA` (with dot-unstuffing), `RSET`, `NOOP`, `QUIT`. It stops when
//! dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpMessage {
    /// The `MAIL FROM` address, without angle brackets.
    pub from: String,
    /// The `RCPT TO` addresses, without angle brackets.
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines ending in CRLF.
    pub data: String,
    /// The user who logged in with `AUTH`, if anyone did.
    pub auth_user: Option<String>,
    /// Whether the message came over TLS (after `STARTTLS`).
    pub tls: bool,
}

impl SmtpMessage {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.data
            .split("\r\n")
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim())
            })
    }

    /// Everything after the blank line that ends the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }
}

/// A running SMTP sink.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<SmtpMessage>>,
    arrived: Notify,
    fail_rcpt: AtomicBool,
    /// `(user, password)` a client must log in with; `None`: no `AUTH` offered.
    credentials: Option<(String, String)>,
    /// The TLS side of `STARTTLS`, when offered.
    tls: Option<(tokio_rustls::TlsAcceptor, String)>,
    /// Every `AUTH` attempt, and whether it came over TLS.
    auth_attempts: Mutex<Vec<bool>>,
}

impl SmtpSink {
    /// Starts a sink that needs no login.
    pub async fn start() -> Self {
        Self::spawn(Shared::default()).await
    }

    /// Starts a sink that offers `AUTH PLAIN` and refuses mail until a client logs
    /// in as `user` with `password`.
    pub async fn with_auth(user: &str, password: &str) -> Self {
        Self::spawn(Shared {
            credentials: Some((user.to_owned(), password.to_owned())),
            ..Shared::default()
        })
        .await
    }

    /// Starts a sink that offers `STARTTLS` (with a self-signed certificate for
    /// 127.0.0.1 and `localhost`) and, when `credentials` are given, `AUTH`.
    pub async fn with_starttls(credentials: Option<(&str, &str)>) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("a self-signed certificate");
        let pem = certified.cert.pem();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .expect("a server certificate");
        Self::spawn(Shared {
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            tls: Some((tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem)),
            ..Shared::default()
        })
        .await
    }

    /// The PEM certificate a client must trust to talk TLS to this sink.
    pub fn certificate_pem(&self) -> Option<String> {
        self.shared.tls.as_ref().map(|(_, pem)| pem.clone())
    }

    /// Every `AUTH` command received, in order: `true` for one sent over TLS.
    pub fn auth_attempts(&self) -> Vec<bool> {
        self.shared
            .auth_attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn spawn(shared: Shared) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(shared);
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, shared.clone(), stop.clone()));
        Self { addr, shared, stop }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<SmtpMessage> {
        self.shared.messages().clone()
    }

    /// Waits until at least `n` messages arrived and returns them all.
    ///
    /// # Panics
    /// When fewer than `n` arrive within `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SmtpMessage> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let arrived = self.shared.arrived.notified();
                let messages = self.messages();
                if messages.len() >= n {
                    return messages;
                }
                arrived.await;
            }
        })
        .await;
        match waited {
            Ok(messages) => messages,
            Err(_) => panic!(
                "expected {n} messages within {timeout:?}, got {}",
                self.messages().len()
            ),
        }
    }

    /// While on, every `RCPT` is answered `550`, as for an unknown mailbox.
    pub fn fail_rcpt(&self, fail: bool) {
        self.shared.fail_rcpt.store(fail, Ordering::SeqCst);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Shared {
    fn messages(&self) -> MutexGuard<'_, Vec<SmtpMessage>> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (shared, stop) = (shared.clone(), stop.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = serve(stream, &shared) => {}
                    }
                });
            }
        }
    }
}

/// The state of one client's transaction.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

/// What ended a session: the client left, or it asked for TLS on this stream.
enum Ended<S> {
    Done,
    StartTls(S),
}

/// One connection, until `QUIT` or the client goes away, upgraded once if the
/// client asks for `STARTTLS`.
async fn serve(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream
        .write_all(b"220 switchboard-sink ESMTP ready\r\n")
        .await?;
    match session(stream, shared, false).await? {
        Ended::Done => Ok(()),
        Ended::StartTls(tcp) => {
            let (acceptor, _) = shared.tls.as_ref().expect("offered only with TLS");
            let tls = acceptor.accept(tcp).await?;
            session(tls, shared, true).await.map(|_| ())
        }
    }
}

/// The commands of one stream, plain or TLS.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
    secure: bool,
) -> std::io::Result<Ended<S>> {
    let mut reader = BufReader::new(stream);
    let mut tx = Transaction::default();
    let mut auth_user: Option<String> = None;
    loop {
        let Some(line) = read_line(&mut reader).await? else {
            return Ok(Ended::Done);
        };
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                tx = Transaction::default();
                let auth = if shared.credentials.is_some() {
                    "250-AUTH PLAIN LOGIN\r\n"
                } else {
                    ""
                };
                let starttls = if shared.tls.is_some() && !secure {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                format!("250-switchboard-sink greets {rest}\r\n{starttls}{auth}250 8BITMIME")
            }
            "HELO" => {
                tx = Transaction::default();
                "250 switchboard-sink".to_owned()
            }
            "STARTTLS" if shared.tls.is_some() && !secure => {
                let stream = reader.get_mut();
                stream
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                stream.flush().await?;
                return Ok(Ended::StartTls(reader.into_inner()));
            }
            "AUTH" => {
                shared
                    .auth_attempts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(secure);
                match authenticate(&mut reader, shared, rest).await? {
                    Some(user) => {
                        auth_user = Some(user);
                        "235 2.7.0 Authentication successful".to_owned()
                    }
                    None => "535 5.7.8 Authentication credentials invalid".to_owned(),
                }
            }
            "MAIL" if shared.credentials.is_some() && auth_user.is_none() => {
                "530 5.7.0 Authentication required".to_owned()
            }
            "MAIL" => match address(rest, "FROM:") {
                Some(from) => {
                    tx = Transaction {
                        from: Some(from),
                        to: Vec::new(),
                    };
                    "250 2.1.0 OK".to_owned()
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned(),
            },
            "RCPT" if tx.from.is_none() => "503 5.5.1 MAIL first".to_owned(),
            "RCPT" if shared.fail_rcpt.load(Ordering::SeqCst) => {
                "550 5.1.1 No such mailbox here".to_owned()
            }
            "RCPT" => match address(rest, "TO:") {
                Some(to) => {
                    tx.to.push(to);
                    "250 2.1.5 OK".to_owned()
                }
                None => "501 5.5.4 Syntax: RCPT TO:<address>".to_owned(),
            },
            "DATA" if tx.to.is_empty() => "503 5.5.1 RCPT first".to_owned(),
            "DATA" => {
                reader
                    .get_mut()
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                reader.get_mut().flush().await?;
                let data = read_data(&mut reader).await?;
                let done = std::mem::take(&mut tx);
                shared.messages().push(SmtpMessage {
                    from: done.from.unwrap_or_default(),
                    to: done.to,
                    data,
                    auth_user: auth_user.clone(),
                    tls: secure,
                });
                shared.arrived.notify_waiters();
                "250 2.0.0 Queued".to_owned()
            }
            "RSET" => {
                tx = Transaction::default();
                "250 2.0.0 OK".to_owned()
            }
            "NOOP" => "250 2.0.0 OK".to_owned(),
            "QUIT" => {
                reader.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                reader.get_mut().flush().await?;
                return Ok(Ended::Done);
            }
            _ => "502 5.5.2 Command not recognized".to_owned(),
        };
        let stream = reader.get_mut();
        stream.write_all(format!("{reply}\r\n").as_bytes()).await?;
        stream.flush().await?;
    }
}

/// `AUTH PLAIN <token>`, `AUTH PLAIN` then the token, or `AUTH LOGIN` with its
/// two prompts; the user when the credentials are right.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut BufReader<S>,
    shared: &Shared,
    rest: &str,
) -> std::io::Result<Option<String>> {
    let Some((user, password)) = &shared.credentials else {
        return Ok(None);
    };
    let (mechanism, initial) = rest.split_once(' ').unwrap_or((rest, ""));
    let ok = if mechanism.eq_ignore_ascii_case("PLAIN") {
        let token = if initial.trim().is_empty() {
            prompt(reader, b"334 \r\n").await?
        } else {
            initial.trim().to_owned()
        };
        token.trim() == base64(format!("\0{user}\0{password}").as_bytes())
    } else if mechanism.eq_ignore_ascii_case("LOGIN") {
        let given_user = prompt(reader, b"334 VXNlcm5hbWU6\r\n").await?;
        let given_password = prompt(reader, b"334 UGFzc3dvcmQ6\r\n").await?;
        given_user.trim() == base64(user.as_bytes())
            && given_password.trim() == base64(password.as_bytes())
    } else {
        false
    };
    Ok(ok.then(|| user.clone()))
}

/// Sends a `334` challenge and reads the client's answer.
async fn prompt<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut BufReader<S>,
    text: &[u8],
) -> std::io::Result<String> {
    reader.get_mut().write_all(text).await?;
    reader.get_mut().flush().await?;
    Ok(read_line(reader).await?.unwrap_or_default())
}

/// One line without its CRLF; `None` at the end of the stream.
async fn read_line<S: AsyncRead + Unpin>(
    reader: &mut BufReader<S>,
) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The message lines up to the lone `.`, with leading dots unstuffed.
async fn read_data<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> std::io::Result<String> {
    let mut data = String::new();
    while let Some(line) = read_line(reader).await? {
        if line == "." {
            return Ok(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
    }
    Err(std::io::ErrorKind::UnexpectedEof.into())
}

/// `FROM:<a@b.c>` → `a@b.c` (parameters after the address are ignored).
fn address(rest: &str, prefix: &str) -> Option<String> {
    let rest = rest.trim();
    let head = rest.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let inner = rest[prefix.len()..].trim_start().strip_prefix('<')?;
    inner.split_once('>').map(|(address, _)| address.to_owned())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63])
            } else {
                '='
            });
        }
    }
    out
}
