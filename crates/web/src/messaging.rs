//! Delivers the message outbox. Messages are written in the same transaction as
//! the change that causes them (a verification code, a case event's notice);
//! this dispatcher claims due ones, hands each to its channel's adapter and
//! marks it sent, or schedules a retry with back-off.
//!
//! Adapters: a spool directory (one file per message, like a mail drop: what a
//! development node reads), SMTP through `lettre` (plain, STARTTLS or TLS,
//! with optional authentication and a private CA), and an HTTP SMS gateway
//! (a JSON POST signed like our webhooks). `Channels` routes each message by
//! channel; a channel without a configured adapter goes to the spool.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use jiff::Timestamp;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use yiwang_store::{OutboxMessage, Store};

use crate::outbound::OutboundPolicy;

/// A delivery in progress; the error is a short class or message for the log
/// and the outbox row (never a secret).
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One delivery channel.
pub trait Deliver: Send + Sync {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> Sending<'a>;
}

/// Writes each message to `<dir>/<channel>/<recipient>/<id>.txt` (atomically via rename).
pub struct SpoolDir {
    pub dir: PathBuf,
}

impl SpoolDir {
    /// Where the spool keeps messages for `recipient` on `channel`.
    pub fn recipient_dir(&self, channel: &str, recipient: &str) -> PathBuf {
        let safe: String = recipient
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_' | '+') { c } else { '_' })
            .collect();
        self.dir.join(channel).join(safe)
    }

    fn write(&self, m: &OutboxMessage) -> std::io::Result<()> {
        let dir = self.recipient_dir(&m.channel, &m.recipient);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{}.tmp", m.id));
        std::fs::write(&tmp, format!("To: {}\nChannel: {}\nSubject: {}\n\n{}\n", m.recipient, m.channel, m.subject, m.body))?;
        std::fs::rename(tmp, dir.join(format!("{}.txt", m.id)))
    }
}

impl Deliver for SpoolDir {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> Sending<'a> {
        Box::pin(async move { self.write(m).map_err(|e| format!("spool: {e}")) })
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or a test server only).
    None,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[messaging.smtp]`: the mail server notices are sent through.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default: 25 plain, 587 STARTTLS, 465 TLS.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Best from the environment (`YIWANG_MESSAGING__SMTP__PASSWORD`).
    pub password: Option<String>,
    /// The sender, e.g. `一网通办 <noreply@zwfw.example.cn>`.
    pub from: String,
    /// A PEM file with the CA that signed the server's certificate, for a
    /// server with a private CA; otherwise the system's roots.
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password: None,
            from: "一网通办 <noreply@localhost>".into(),
            ca_file: None,
            timeout_secs: 20,
        }
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Email through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> Result<SmtpMailer, String> {
        if s.host.trim().is_empty() {
            return Err("messaging.smtp.host is empty".into());
        }
        let from: Mailbox = s.from.parse().map_err(|e| format!("messaging.smtp.from {:?}: {e}", s.from))?;
        let tls_params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(s.host.clone());
            if let Some(path) = &s.ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("messaging.smtp.ca_file {}: {e}", path.display()))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| format!("messaging.smtp.ca_file {}: {e}", path.display()))?;
                b = b.certificate_store(CertificateStore::None).add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("TLS: {e}"))
        };
        let (tls, port) = match s.security {
            SmtpSecurity::None => (Tls::None, 25),
            SmtpSecurity::Starttls => (Tls::Required(tls_params()?), 587),
            SmtpSecurity::Tls => (Tls::Wrapper(tls_params()?), 465),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port.unwrap_or(port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_secs.clamp(1, 300))));
        if let Some(user) = &s.username {
            b = b.credentials(Credentials::new(user.clone(), s.password.clone().unwrap_or_default()));
        }
        Ok(SmtpMailer { transport: b.build(), from })
    }
}

impl Deliver for SmtpMailer {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> Sending<'a> {
        Box::pin(async move {
            let to: Mailbox = m.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
            let mail = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(m.subject.clone())
                // A Message-ID from the outbox id: a retried message keeps it, so
                // a mail system can tell a repeat from a new notice.
                .message_id(Some(format!("<{}@yiwang>", m.id)))
                .header(ContentType::TEXT_PLAIN)
                .body(m.body.clone())
                .map_err(|e| format!("message: {e}"))?;
            self.transport.send(mail).await.map(|_| ()).map_err(|e| format!("smtp: {e}"))
        })
    }
}

/// `[messaging.sms_http]`: an SMS gateway reached over HTTP(S).
///
/// Each message is `POST url` with the JSON body
/// `{"id": "<message id>", "to": "<phone>", "text": "<text>", "sender": "<sender>"}`,
/// signed as Standard Webhooks are: headers `webhook-id` (the message id, which
/// the gateway uses to drop a repeat), `webhook-timestamp` (Unix seconds) and
/// `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`.
/// Any 2xx is accepted; anything else is retried with back-off.
#[derive(Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SmsHttpSettings {
    pub url: String,
    /// `whsec_…` (base64), as for webhooks; best from the environment.
    pub secret: String,
    /// The signature name the gateway prints (e.g. `【某市政务服务】`); optional.
    pub sender: String,
}

impl std::fmt::Debug for SmsHttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsHttpSettings").field("url", &self.url).field("secret", &"***").field("sender", &self.sender).finish()
    }
}

/// SMS through an HTTP gateway, under the node's outbound policy (an internal
/// gateway must be named in `[security] outbound_allow`).
pub struct SmsGateway {
    url: url::Url,
    secret: String,
    sender: String,
    /// The policy is in its resolver; the URL (an address literal too) was
    /// checked when the gateway was configured.
    client: reqwest::Client,
}

impl SmsGateway {
    pub fn new(s: &SmsHttpSettings, outbound: &OutboundPolicy) -> Result<SmsGateway, String> {
        let url = outbound.preflight(&s.url).map_err(|e| format!("messaging.sms_http.url: {e}"))?;
        if s.secret.trim().is_empty() {
            return Err("messaging.sms_http.secret is empty".into());
        }
        let client = outbound.client(Duration::from_secs(15)).map_err(|e| format!("HTTP client: {e}"))?;
        Ok(SmsGateway { url, secret: s.secret.clone(), sender: s.sender.clone(), client })
    }
}

impl Deliver for SmsGateway {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> Sending<'a> {
        Box::pin(async move {
            let body = serde_json::json!({ "id": m.id, "to": m.recipient, "text": m.body, "sender": self.sender }).to_string();
            let stamp = Timestamp::now().as_second();
            let resp = self
                .client
                .post(self.url.clone())
                .header("content-type", "application/json")
                .header("webhook-id", &m.id)
                .header("webhook-timestamp", stamp.to_string())
                .header("webhook-signature", crate::integration::signature(&self.secret, &m.id, stamp, &body))
                .body(body)
                .send()
                .await
                .map_err(|e| crate::outbound::failure_class(&e).to_string())?;
            if resp.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", resp.status().as_u16())) }
        })
    }
}

/// Routes each message to its channel's adapter; the spool takes the rest.
pub struct Channels {
    pub email: Option<Box<dyn Deliver>>,
    pub sms: Option<Box<dyn Deliver>>,
    pub spool: SpoolDir,
}

impl Deliver for Channels {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> Sending<'a> {
        let adapter: &dyn Deliver = match m.channel.as_str() {
            "email" => self.email.as_deref().unwrap_or(&self.spool),
            "sms" => self.sms.as_deref().unwrap_or(&self.spool),
            _ => &self.spool,
        };
        adapter.deliver(m)
    }
}

/// Deliver what is due once; returns how many were sent.
pub async fn dispatch_once(store: &Store, adapter: &dyn Deliver) -> yiwang_store::Result<usize> {
    let now = Timestamp::now();
    let batch = store.claim_outbox(100, now).await?;
    let mut sent = 0;
    for m in &batch {
        match adapter.deliver(m).await {
            Ok(()) => {
                store.outbox_sent(&m.id, Timestamp::now()).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(message = %m.id, channel = %m.channel, error = %e, "message delivery failed; will retry");
                store.outbox_failed(&m.id, m.attempts, &e, Timestamp::now()).await?;
            }
        }
    }
    Ok(sent)
}

/// Run the dispatcher until the task is dropped, polling every `every`.
pub async fn run_dispatcher(store: Store, adapter: Box<dyn Deliver>, every: Duration) {
    loop {
        match dispatch_once(&store, adapter.as_ref()).await {
            Ok(n) if n > 0 => tracing::debug!(sent = n, "outbox delivered"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox dispatch failed"),
        }
        tokio::time::sleep(every).await;
    }
}
