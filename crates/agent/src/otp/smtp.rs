//! Email delivery over plain SMTP.
//!
//! There is no TLS here: this is meant for a relay on the same host or private
//! network (a local Postfix, a mail container), which then sends on securely.
//! Credentials sent with `AUTH PLAIN` travel in clear, so do not point this at a
//! server across the internet.

use super::Channel;
use super::delivery::{Delivery, DeliveryError};
use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

/// A reply line longer than this is a broken server, not a reply.
const MAX_LINE: u64 = 4096;

/// Sends codes by email through an SMTP relay.
#[derive(Debug)]
pub struct SmtpDelivery {
    /// `host:port`.
    server: String,
    from: String,
    helo_name: String,
    credentials: Option<(String, SecretString)>,
    step_timeout: Duration,
}

impl SmtpDelivery {
    /// Sends through `server` (`host:port`) as `from` (a bare address).
    pub fn new(server: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            from: from.into(),
            helo_name: "localhost".to_owned(),
            credentials: None,
            step_timeout: Duration::from_secs(10),
        }
    }

    /// Logs in with `AUTH PLAIN` when the server offers it.
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// The name this client gives in `EHLO` (default `localhost`).
    pub fn with_helo_name(mut self, name: impl Into<String>) -> Self {
        self.helo_name = name.into();
        self
    }

    /// How long each step (connect, each command) may take (default 10 s).
    pub fn with_step_timeout(mut self, step: Duration) -> Self {
        self.step_timeout = step;
        self
    }

    async fn connect(&self) -> Result<Smtp, DeliveryError> {
        let stream = timeout(self.step_timeout, TcpStream::connect(&self.server))
            .await
            .map_err(|_| DeliveryError::Timeout { stage: "connect" })?
            .map_err(|source| DeliveryError::Io {
                stage: "connect",
                source,
            })?;
        let (read, write) = stream.into_split();
        Ok(Smtp {
            reader: BufReader::new(read),
            writer: write,
            step: self.step_timeout,
        })
    }

    /// Greeting, `EHLO` (or `HELO` for an old server) and the optional login.
    async fn open(&self, smtp: &mut Smtp) -> Result<(), DeliveryError> {
        smtp.step("the greeting", None, &[220]).await?;
        let ehlo = smtp
            .exchange("EHLO", Some(&format!("EHLO {}", self.helo_name)))
            .await?;
        let offers_plain = match ehlo.code {
            250 => ehlo.offers_auth_plain(),
            500..=504 => {
                let helo = format!("HELO {}", self.helo_name);
                smtp.step("HELO", Some(&helo), &[250]).await?;
                false
            }
            _ => return Err(ehlo.refused("EHLO")),
        };
        match &self.credentials {
            Some((user, password)) if offers_plain => {
                let token = base64(format!("\0{user}\0{}", password.expose_secret()).as_bytes());
                smtp.step("AUTH", Some(&format!("AUTH PLAIN {token}")), &[235])
                    .await?;
            }
            Some(_) => tracing::warn!(
                server = %self.server,
                "the SMTP server does not offer AUTH PLAIN; sending without logging in"
            ),
            None => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Delivery for SmtpDelivery {
    fn channels(&self) -> Vec<Channel> {
        vec![Channel::Email]
    }

    async fn deliver(
        &self,
        channel: Channel,
        destination: &str,
        code: &str,
        ttl: Duration,
    ) -> Result<(), DeliveryError> {
        if channel != Channel::Email {
            return Err(DeliveryError::Unsupported(channel));
        }
        check_address(&self.from, "sender")?;
        let to = destination.trim();
        check_address(to, "recipient")?;
        let mut smtp = self.connect().await?;
        self.open(&mut smtp).await?;
        let mail_from = format!("MAIL FROM:<{}>", self.from);
        smtp.step("MAIL FROM", Some(&mail_from), &[250]).await?;
        smtp.step("RCPT TO", Some(&format!("RCPT TO:<{to}>")), &[250, 251])
            .await?;
        smtp.step("DATA", Some("DATA"), &[354]).await?;
        let message = message(&self.from, to, code, ttl);
        smtp.step("the message", Some(&format!("{message}.")), &[250])
            .await?;
        // The message is accepted; a failed goodbye does not undo that.
        if let Err(error) = smtp.step("QUIT", Some("QUIT"), &[221]).await {
            tracing::debug!(%error, "SMTP QUIT went wrong after the message was accepted");
        }
        Ok(())
    }
}

/// One SMTP connection.
struct Smtp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    step: Duration,
}

/// A server reply: its code and the text of its lines.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn refused(&self, stage: &'static str) -> DeliveryError {
        DeliveryError::Smtp {
            stage,
            reply: format!("{} {}", self.code, self.lines.join(" / ")),
        }
    }

    /// Whether an `EHLO` reply lists `AUTH` with the `PLAIN` mechanism.
    fn offers_auth_plain(&self) -> bool {
        self.lines.iter().skip(1).any(|line| {
            let mut words = line.split_ascii_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("AUTH"))
                && words.any(|w| w.eq_ignore_ascii_case("PLAIN"))
        })
    }
}

impl Smtp {
    /// Sends `command` (if any) and reads the reply, which must be one of `expected`.
    async fn step(
        &mut self,
        stage: &'static str,
        command: Option<&str>,
        expected: &[u16],
    ) -> Result<Reply, DeliveryError> {
        let reply = self.exchange(stage, command).await?;
        if expected.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(reply.refused(stage))
        }
    }

    /// Sends `command` (if any) and reads the reply, whatever its code.
    async fn exchange(
        &mut self,
        stage: &'static str,
        command: Option<&str>,
    ) -> Result<Reply, DeliveryError> {
        timeout(self.step, self.exchange_untimed(stage, command))
            .await
            .map_err(|_| DeliveryError::Timeout { stage })?
    }

    async fn exchange_untimed(
        &mut self,
        stage: &'static str,
        command: Option<&str>,
    ) -> Result<Reply, DeliveryError> {
        let io = |source| DeliveryError::Io { stage, source };
        if let Some(command) = command {
            self.writer
                .write_all(format!("{command}\r\n").as_bytes())
                .await
                .map_err(io)?;
            self.writer.flush().await.map_err(io)?;
        }
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = (&mut self.reader)
                .take(MAX_LINE)
                .read_line(&mut line)
                .await
                .map_err(io)?;
            if read == 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let (code, last, text) = parse_reply_line(line).ok_or_else(|| DeliveryError::Smtp {
                stage,
                reply: format!("a malformed reply: {line:?}"),
            })?;
            lines.push(text.to_owned());
            if last {
                return Ok(Reply { code, lines });
            }
        }
    }
}

/// `250-text` (more follow) or `250 text` / `250` (the last line).
fn parse_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code = code.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// Refuses addresses that could smuggle commands or headers into the session.
fn check_address(address: &str, role: &'static str) -> Result<(), DeliveryError> {
    let usable = address.contains('@')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    if usable {
        Ok(())
    } else {
        Err(DeliveryError::InvalidAddress(role))
    }
}

/// The whole message, headers and body, dot-stuffed and ending in CRLF.
fn message(from: &str, to: &str, code: &str, ttl: Duration) -> String {
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let text = format!(
        "From: {from}\r\n\
         To: {to}\r\n\
         Subject: Your verification code\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}@{domain}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Your verification code is {code}.\r\n\
         \r\n\
         It expires in {expiry}. If you did not ask for it, you can ignore this message.\r\n",
        date = Utc::now().to_rfc2822(),
        id = uuid::Uuid::new_v4(),
        expiry = describe(ttl),
    );
    dot_stuff(&text)
}

/// `10 minutes`, `1 minute`, `45 seconds`.
fn describe(ttl: Duration) -> String {
    let secs = ttl.as_secs();
    let (n, unit) = if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Doubles a leading dot on every line, so no line of the text can end the
/// message early (RFC 5321 §4.5.2).
fn dot_stuff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    out
}

/// Standard base64 with padding, for `AUTH PLAIN`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(b"\0user\0pass"), "AHVzZXIAcGFzcw==");
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuff(".\r\nab\r\n.x\r\n"), "..\r\nab\r\n..x\r\n");
        assert_eq!(dot_stuff("a.b\r\n"), "a.b\r\n");
    }

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line("250-AUTH PLAIN"),
            Some((250, false, "AUTH PLAIN"))
        );
        assert_eq!(parse_reply_line("250 OK"), Some((250, true, "OK")));
        assert_eq!(parse_reply_line("221"), Some((221, true, "")));
        assert_eq!(parse_reply_line("25O OK"), None);
        assert_eq!(parse_reply_line("250xOK"), None);
    }

    #[test]
    fn auth_plain_is_found_among_the_extensions() {
        let reply = |lines: &[&str]| Reply {
            code: 250,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        };
        assert!(reply(&["hi", "SIZE 1000", "AUTH LOGIN PLAIN"]).offers_auth_plain());
        assert!(!reply(&["hi", "AUTH LOGIN CRAM-MD5"]).offers_auth_plain());
        assert!(
            !reply(&["AUTH PLAIN greeting text"]).offers_auth_plain(),
            "the greeting line is not an extension"
        );
    }

    #[test]
    fn addresses_that_could_inject_are_refused() {
        assert!(check_address("a@example.com", "recipient").is_ok());
        for bad in [
            "",
            "no-at-sign",
            "a@b.c>\r\nRCPT TO:<x@y.z",
            "a b@c.d",
            "<a@b.c>",
        ] {
            assert!(check_address(bad, "recipient").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_message_has_its_headers_and_the_code() {
        let text = message(
            "noreply@example.com",
            "v@example.org",
            "123456",
            Duration::from_secs(600),
        );
        for header in [
            "From: noreply@example.com\r\n",
            "To: v@example.org\r\n",
            "Subject: ",
            "Date: ",
            "Message-ID: <",
            "@example.com>\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ] {
            assert!(text.contains(header), "{header:?} missing from {text}");
        }
        assert!(text.contains("\r\n\r\nYour verification code is 123456.\r\n"));
        assert!(text.contains("It expires in 10 minutes."));
        assert!(text.ends_with("\r\n"));
        assert_eq!(describe(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe(Duration::from_secs(90)), "90 seconds");
    }
}
