//! Delivers the message outbox. Messages are written in the same transaction as
//! the change that causes them; this dispatcher claims due ones, hands each to
//! the channel's adapter and marks it sent, or schedules a retry.
//!
//! The adapter shipped today is a spool directory (one file per message, like a
//! mail drop): what a development node and the tests read. SMS gateways and SMTP
//! are further adapters behind the same trait.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use yiwang_store::{OutboxMessage, Store};

/// One delivery channel.
pub trait Deliver: Send + Sync {
    fn deliver(&self, m: &OutboxMessage) -> std::io::Result<()>;
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
}

impl Deliver for SpoolDir {
    fn deliver(&self, m: &OutboxMessage) -> std::io::Result<()> {
        let dir = self.recipient_dir(&m.channel, &m.recipient);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{}.tmp", m.id));
        std::fs::write(&tmp, format!("To: {}\nChannel: {}\nSubject: {}\n\n{}\n", m.recipient, m.channel, m.subject, m.body))?;
        std::fs::rename(tmp, dir.join(format!("{}.txt", m.id)))
    }
}

/// Deliver what is due once; returns how many were sent.
pub async fn dispatch_once(store: &Store, adapter: &dyn Deliver) -> yiwang_store::Result<usize> {
    let now = Timestamp::now();
    let batch = store.claim_outbox(100, now).await?;
    let mut sent = 0;
    for m in &batch {
        match adapter.deliver(m) {
            Ok(()) => {
                store.outbox_sent(&m.id, Timestamp::now()).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(message = %m.id, channel = %m.channel, error = %e, "message delivery failed; will retry");
                store.outbox_failed(&m.id, m.attempts, &e.to_string(), Timestamp::now()).await?;
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
