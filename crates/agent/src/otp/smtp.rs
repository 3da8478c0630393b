//! Email delivery over SMTP with `lettre`: STARTTLS (required, port 587) or
//! implicit TLS (port 465) with rustls and the Mozilla roots, or plain SMTP for a
//! relay on the same host. Logging in over plain SMTP would send the password in
//! clear, so it is refused unless explicitly allowed
//! (`SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH`, for tests and a loopback relay).

use super::Channel;
use super::delivery::{Delivery, DeliveryError};
use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, upgraded with `STARTTLS`; a server that does not offer it is
    /// refused (no silent downgrade).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No TLS at all: only for a relay on the same host or in tests.
    Plain,
}

impl SmtpSecurity {
    /// `starttls`, `tls` (or `implicit`), `none` (or `plain`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(Self::StartTls),
            "tls" | "implicit" | "smtps" => Some(Self::Tls),
            "none" | "plain" => Some(Self::Plain),
            _ => None,
        }
    }
}

/// Sends codes by email through an SMTP server.
#[derive(Debug)]
pub struct SmtpDelivery {
    host: String,
    port: u16,
    from: String,
    security: SmtpSecurity,
    helo_name: String,
    credentials: Option<(String, SecretString)>,
    allow_insecure_auth: bool,
    /// Extra trusted roots (PEM), for a relay with a private certificate.
    roots: Vec<Vec<u8>>,
    timeout: Duration,
}

impl SmtpDelivery {
    /// Sends through `host:port` as `from` (a bare address), protected as `security` says.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        from: impl Into<String>,
        security: SmtpSecurity,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            from: from.into(),
            security,
            helo_name: "localhost".to_owned(),
            credentials: None,
            allow_insecure_auth: false,
            roots: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Logs in (PLAIN or LOGIN, as the server offers) before sending.
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Allows logging in over [`SmtpSecurity::Plain`], password in clear.
    pub fn allow_insecure_auth(mut self, allow: bool) -> Self {
        self.allow_insecure_auth = allow;
        self
    }

    /// Also trusts this PEM certificate (a private relay's, or a test's).
    pub fn with_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// The name this client gives in `EHLO` (default `localhost`).
    pub fn with_helo_name(mut self, name: impl Into<String>) -> Self {
        self.helo_name = name.into();
        self
    }

    /// How long connecting and each command may take (default 10 s).
    pub fn with_step_timeout(mut self, step: Duration) -> Self {
        self.timeout = step;
        self
    }

    /// Why this delivery must not be used, if so: credentials without TLS (unless
    /// allowed), or a sender that is not an address. Config loading calls it so a
    /// bad setting stops the server at start.
    pub fn check(&self) -> Result<(), DeliveryError> {
        if self.credentials.is_some()
            && self.security == SmtpSecurity::Plain
            && !self.allow_insecure_auth
        {
            return Err(DeliveryError::InsecureAuth);
        }
        mailbox(&self.from, "sender")?;
        Ok(())
    }

    /// Sends a plain-text email to `to` (other mail than codes: a handoff notice).
    pub async fn send_text(
        &self,
        to: &str,
        subject: &str,
        text: String,
    ) -> Result<(), DeliveryError> {
        self.check()?;
        let message = Message::builder()
            .from(mailbox(&self.from, "sender")?)
            .to(mailbox(to.trim(), "recipient")?)
            .subject(subject)
            .date_now()
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|_| DeliveryError::InvalidAddress("recipient"))?;
        // lettre bounds each command, not a server that never greets: bound the
        // whole exchange too.
        let whole = self.timeout.saturating_mul(6);
        tokio::time::timeout(whole, self.transport()?.send(message))
            .await
            .map_err(|_| DeliveryError::Timeout {
                stage: "the exchange",
            })?
            .map_err(|e| DeliveryError::Smtp {
                stage: "sending",
                // lettre's errors quote the server's reply, never the message.
                reply: e.to_string(),
            })?;
        Ok(())
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(self.timeout))
            .hello_name(ClientId::Domain(self.helo_name.clone()));
        builder = match self.security {
            SmtpSecurity::StartTls => builder.tls(Tls::Required(self.tls_parameters()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(self.tls_parameters()?)),
            SmtpSecurity::Plain => builder.tls(Tls::None),
        };
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self) -> Result<TlsParameters, DeliveryError> {
        let mut tls = TlsParameters::builder(self.host.clone());
        for pem in &self.roots {
            let certificate = Certificate::from_pem(pem).map_err(|e| DeliveryError::Smtp {
                stage: "reading the trusted certificate",
                reply: e.to_string(),
            })?;
            tls = tls.add_root_certificate(certificate);
        }
        tls.build_rustls().map_err(|e| DeliveryError::Smtp {
            stage: "setting up TLS",
            reply: e.to_string(),
        })
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
        self.send_text(destination, "Your verification code", body(code, ttl))
            .await?;
        Ok(())
    }
}

/// A single bare address; display names, lists and anything that does not parse
/// as an address are refused, so nothing can be smuggled into the envelope.
fn mailbox(address: &str, role: &'static str) -> Result<Mailbox, DeliveryError> {
    if address
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ','))
    {
        return Err(DeliveryError::InvalidAddress(role));
    }
    address
        .parse::<lettre::Address>()
        .map(|a| Mailbox::new(None, a))
        .map_err(|_| DeliveryError::InvalidAddress(role))
}

fn body(code: &str, ttl: Duration) -> String {
    format!(
        "Your verification code is {code}.\r\n\r\n\
         It expires in {}. If you did not ask for it, you can ignore this message.\r\n",
        describe(ttl)
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_could_inject_are_refused() {
        assert!(mailbox("a@example.com", "recipient").is_ok());
        for bad in [
            "",
            "no-at-sign",
            "a@b.c>\r\nRCPT TO:<x@y.z",
            "a b@c.d",
            "<a@b.c>",
            "a@b.c,d@e.f",
            "Name <a@b.c>",
        ] {
            assert!(mailbox(bad, "recipient").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_over_plain_smtp_are_refused_unless_allowed() {
        let plain = SmtpDelivery::new("127.0.0.1", 25, "a@b.c", SmtpSecurity::Plain);
        assert!(plain.check().is_ok(), "no login, no secret to leak");
        let login = plain.with_credentials("u", "p");
        assert!(matches!(login.check(), Err(DeliveryError::InsecureAuth)));
        assert!(login.allow_insecure_auth(true).check().is_ok());
        let tls = SmtpDelivery::new("127.0.0.1", 587, "a@b.c", SmtpSecurity::StartTls)
            .with_credentials("u", "p");
        assert!(tls.check().is_ok());
    }

    #[test]
    fn security_modes_parse() {
        assert_eq!(
            SmtpSecurity::parse("STARTTLS"),
            Some(SmtpSecurity::StartTls)
        );
        assert_eq!(SmtpSecurity::parse("tls"), Some(SmtpSecurity::Tls));
        assert_eq!(SmtpSecurity::parse("none"), Some(SmtpSecurity::Plain));
        assert_eq!(SmtpSecurity::parse("maybe"), None);
    }

    #[test]
    fn the_body_has_the_code_and_its_lifetime() {
        let text = body("123456", Duration::from_secs(600));
        assert!(text.contains("Your verification code is 123456.\r\n"));
        assert!(text.contains("It expires in 10 minutes."));
        assert_eq!(describe(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe(Duration::from_secs(90)), "90 seconds");
    }
}
