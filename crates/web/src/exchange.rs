//! The node-to-node exchange at the edge (issue 21, `docs/exchange.md`):
//! - `POST /gx/1/exchange` receives a signed request, checks it against the
//!   registry in hand, logs it, acts on it and answers with a signed reply,
//!   all in one transaction; a retry of the same bytes gets the same reply;
//! - `GET /gx/1/registry` publishes the registry in hand (the national node's
//!   own, or a mirror's copy);
//! - [`ExchangeRuntime::call`] is the sending side: seal, log, post to the
//!   target's endpoints in turn, check and log the reply.
//!
//! Targets come only from the signed registry, never from a caller, so the
//! outbound guard for caller-chosen URLs (`outbound`) does not apply; the
//! client follows no redirects and gives up after the configured timeout.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use yiwang_errors::{Coded, Problem};
use yiwang_exchange::{
    Anchor, BodyRef, ClientId, Direction, Directory, ExchangeError, Fetched, Header, InReplyTo, Keyring, Kind, LogRecord, NodeId, Opened,
    Recipient, RegistryRef, Sealed, Sender, ServiceId, User, Validity, accept_directory, open, replay, seal,
};
use yiwang_store::{ExchangeKey, Logged, Store, StoredReply, Tx};

use crate::{ApiError, AppState};

/// The header lines of a message on the wire.
pub const ENVELOPE_HEADER: &str = "gx-envelope";
pub const SIGNATURE_HEADER: &str = "gx-signature";
/// The most any message body may be (the design's inline limit); larger
/// payloads will go by reference. `max_body_bytes` is clamped to it.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Set on a reply that is the stored answer to an earlier copy of the request.
pub const REPLAYED_HEADER: &str = "gx-replayed";

/// `[exchange]`: this node's part in the three-tier network. Without `node`
/// the node takes no part (it answers `gx.not_configured`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeSettings {
    /// This node's id, `CN/NODE/{division code}` (`CN-TEST/…` on a test network).
    pub node: Option<String>,
    /// The member that runs this node (its data-sharing authority): it signs
    /// the node's own messages and platform errors. The registry must list it
    /// as hosted here.
    pub member: Option<String>,
    /// The trust anchor, pinned at install: the instance (`CN` or `CN-TEST`)
    /// and the public keys (SEC1 hex) that may sign the registry.
    pub anchor_instance: String,
    pub anchor_keys: Vec<String>,
    /// Where the registry is fetched from (`{national node}/gx/1/registry`, or
    /// a mirror); unset: it is installed by hand (`yiwang exchange registry install`).
    pub registry_url: Option<String>,
    /// How often the registry is fetched, in seconds.
    pub refresh_secs: u64,
    /// The largest body a message may carry, in bytes.
    pub max_body_bytes: usize,
    /// How long a call waits for one endpoint, in seconds.
    pub timeout_secs: u64,
    /// How long a request stays valid, in seconds.
    pub ttl_secs: i64,
    /// 汇聚: send this node's GB/T 39046 case records, and those its children
    /// send, to its parent node (docs/exchange.md, upward aggregation).
    pub aggregate_upward: bool,
    /// How often the log head is sent to the parent to be countersigned, in
    /// seconds (when the log moved).
    pub anchor_secs: u64,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        ExchangeSettings {
            node: None,
            member: None,
            anchor_instance: "CN".into(),
            anchor_keys: Vec::new(),
            registry_url: None,
            refresh_secs: 300,
            max_body_bytes: 4 * 1024 * 1024,
            timeout_secs: 10,
            ttl_secs: 300,
            aggregate_upward: false,
            anchor_secs: 60,
        }
    }
}

/// A registry accepted from the anchor, with what opening a message needs.
pub struct Registry {
    pub directory: Directory,
    keyring: Keyring,
    /// SM3 of the registry's bytes, hex: what our messages name in `registry`.
    digest: String,
    pub bytes: Vec<u8>,
    pub signature_line: String,
}

/// What the receiver answered: a signed reply (a response, or an error the
/// provider signed), or a refusal before the message was opened (unsigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub header: Header,
    /// SM3 of the reply's header bytes.
    pub env_sm3: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Whether it is the stored answer to an earlier copy.
    pub replayed: bool,
    /// The request this answers.
    pub request_msg_id: String,
}

impl Reply {
    /// The error code of a signed `error` reply.
    pub fn error_code(&self) -> Option<String> {
        (self.header.kind == Kind::Error).then(|| problem_code(&self.body)).flatten()
    }

    /// The reply if it is a 200 answer; a signed error otherwise (`CallError::Answered`).
    pub fn answered(self) -> Result<Reply, CallError> {
        if self.status == 200 {
            return Ok(self);
        }
        Err(CallError::Answered { status: self.status, code: self.error_code().unwrap_or_else(|| "unknown".into()) })
    }
}

/// The `code` of a problem+json body, if it is one.
fn problem_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body).ok()?.get("code")?.as_str().map(str::to_string)
}

/// Why a call came back without the answer asked for.
#[derive(Debug)]
pub enum CallError {
    /// This node could not send (no registry, no key, an unknown target) or
    /// the reply failed its checks.
    Local(ExchangeError),
    /// The receiver refused before it could open the message; its problem code.
    Refused {
        status: u16,
        code: String,
    },
    /// The receiver answered with a signed error (logged on both sides).
    Answered {
        status: u16,
        code: String,
    },
    Store(yiwang_store::StoreError),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Local(e) => write!(f, "{}: {e}", e.code()),
            CallError::Refused { status, code } => write!(f, "refused by the receiver: {status} {code}"),
            CallError::Answered { status, code } => write!(f, "the receiver answered with an error: {status} {code}"),
            CallError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<ExchangeError> for CallError {
    fn from(e: ExchangeError) -> Self {
        CallError::Local(e)
    }
}

impl From<yiwang_store::StoreError> for CallError {
    fn from(e: yiwang_store::StoreError) -> Self {
        CallError::Store(e)
    }
}

/// A request this node sends.
pub struct Call<'a> {
    /// The member or subsystem sending, hosted at this node.
    pub from: &'a ClientId,
    pub to: &'a NodeId,
    pub service: &'a str,
    pub user: Option<User>,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// The node's exchange identity and state: its id, the anchor, the registry in
/// hand, its signing keys and an HTTP client.
pub struct ExchangeRuntime {
    node: NodeId,
    member: ClientId,
    anchor: Anchor,
    settings: ExchangeSettings,
    registry: RwLock<Option<Arc<Registry>>>,
    keys: RwLock<Arc<Vec<ExchangeKey>>>,
    http: reqwest::Client,
}

impl ExchangeRuntime {
    /// From `[exchange]`: `None` when the node takes no part; an error for a
    /// setting that cannot hold.
    pub fn from_settings(settings: &ExchangeSettings) -> Result<Option<ExchangeRuntime>, String> {
        let Some(node) = &settings.node else { return Ok(None) };
        let node = NodeId::parse(node).map_err(|e| format!("exchange.node: {e}"))?;
        let member = settings.member.as_deref().ok_or("exchange.member must be set with exchange.node")?;
        let member = ClientId::parse(member).map_err(|e| format!("exchange.member: {e}"))?;
        if member.member() != member.as_str() {
            return Err(format!("exchange.member: {member} is a subsystem, not a member"));
        }
        if !node.as_str().starts_with(&format!("{}/", settings.anchor_instance)) {
            return Err(format!("exchange.node {node} is not of the anchor's instance {}", settings.anchor_instance));
        }
        if settings.anchor_keys.is_empty() {
            return Err("exchange.anchor_keys: at least one registry key must be pinned".into());
        }
        if let Some(k) = settings.anchor_keys.iter().find(|k| k.len() != 130 || !k.starts_with("04") || hex::decode(k).is_err()) {
            return Err(format!("exchange.anchor_keys: {k} is not an uncompressed SM2 public key (130 hex)"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(settings.timeout_secs.clamp(1, 60)))
            .timeout(Duration::from_secs(settings.timeout_secs.clamp(1, 300)))
            .build()
            .map_err(|e| format!("exchange: HTTP client: {e}"))?;
        Ok(Some(ExchangeRuntime {
            node,
            member,
            anchor: Anchor { instance: settings.anchor_instance.clone(), keys: settings.anchor_keys.clone() },
            settings: settings.clone(),
            registry: RwLock::new(None),
            keys: RwLock::new(Arc::new(Vec::new())),
            http,
        }))
    }

    pub fn node(&self) -> &NodeId {
        &self.node
    }

    pub fn member(&self) -> &ClientId {
        &self.member
    }

    fn max_body(&self) -> usize {
        self.settings.max_body_bytes.clamp(1024, BODY_LIMIT)
    }

    pub fn settings(&self) -> &ExchangeSettings {
        &self.settings
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// This node's parent in the registry and the member that runs it (whose
    /// services take what children push up); none at the top.
    pub(crate) fn parent_of(&self, registry: &Registry) -> Result<Option<(NodeId, ClientId)>, ExchangeError> {
        let Some(parent) = registry.directory.node(&self.node).and_then(|n| n.parent.clone()) else { return Ok(None) };
        let member = registry
            .directory
            .members
            .iter()
            .find(|m| m.home == parent)
            .map(|m| m.id.clone())
            .ok_or_else(|| ExchangeError::UnknownNode { node: format!("{parent} (it hosts no member)") })?;
        Ok(Some((parent, member)))
    }

    /// Load the signing keys and the registry kept in the database (at start,
    /// and after `yiwang exchange key` changed them). A kept registry that no
    /// longer holds (expired, another anchor) is left out, with a warning.
    pub async fn load(&self, store: &Store, master: &yiwang_crypto::seal::MasterKey, now: jiff::Timestamp) -> Result<(), CallError> {
        let keys = store.exchange_keys(master).await?;
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        if let Some(kept) = store.exchange_registry().await? {
            match accept_directory(&self.anchor, &kept.document, &kept.signature, None, now) {
                Ok(Fetched::Newer(directory)) => self.swap_in(*directory, kept.document, kept.signature),
                Ok(Fetched::Unchanged) => {}
                Err(e) => tracing::warn!(code = e.code(), error = %e, "the kept node registry is not used"),
            }
        }
        Ok(())
    }

    fn swap_in(&self, directory: Directory, bytes: Vec<u8>, signature_line: String) {
        let registry =
            Registry { keyring: directory.keyring(), digest: hex::encode(yiwang_crypto::sm3(&bytes)), directory, bytes, signature_line };
        tracing::info!(serial = registry.directory.serial, "node registry in use");
        *self.registry.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(registry));
    }

    /// The registry in hand, whatever its validity (for publication and display).
    pub fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The registry for traffic: there, and not past its hard expiry.
    pub fn current(&self, now: jiff::Timestamp) -> Result<Arc<Registry>, ExchangeError> {
        let registry = self.registry().ok_or(ExchangeError::NoRegistry)?;
        match registry.directory.validity(now) {
            Validity::Expired => Err(ExchangeError::RegistryOutdated { at: registry.directory.hard_expires_at.to_string() }),
            Validity::Stale => {
                tracing::warn!(serial = registry.directory.serial, "the node registry is past its soft expiry");
                Ok(registry)
            }
            Validity::Fresh => Ok(registry),
        }
    }

    /// Take a registry offered by the national node (fetched, or installed by
    /// hand): checked against the anchor and the copy in hand, kept in the
    /// database, then used.
    pub async fn install(&self, store: &Store, bytes: &[u8], signature_line: &str, now: jiff::Timestamp) -> Result<Fetched, CallError> {
        let current = self.registry();
        let fetched = accept_directory(&self.anchor, bytes, signature_line, current.as_ref().map(|r| &r.directory), now)?;
        if let Fetched::Newer(directory) = &fetched {
            if !store.put_exchange_registry(directory.serial, bytes, signature_line, now).await? {
                // Another process sharing the database kept a newer one: take that.
                if let Some(kept) = store.exchange_registry().await?
                    && let Ok(Fetched::Newer(d)) = accept_directory(&self.anchor, &kept.document, &kept.signature, None, now)
                {
                    self.swap_in(*d, kept.document, kept.signature);
                }
                return Ok(Fetched::Unchanged);
            }
            self.swap_in((**directory).clone(), bytes.to_vec(), signature_line.to_string());
        }
        Ok(fetched)
    }

    /// Fetch the registry from `registry_url` and install it.
    pub async fn refresh(&self, store: &Store) -> Result<Fetched, CallError> {
        let Some(url) = &self.settings.registry_url else { return Ok(Fetched::Unchanged) };
        let unreachable = || CallError::Local(ExchangeError::Unreachable { node: url.clone() });
        let resp = self.http.get(url).send().await.map_err(|_| unreachable())?;
        if !resp.status().is_success() {
            return Err(unreachable());
        }
        let line = resp.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default();
        let bytes = read_bounded(resp, yiwang_exchange::MAX_REGISTRY_BYTES).await.ok_or_else(unreachable)?;
        self.install(store, &bytes, &line, jiff::Timestamp::now()).await
    }

    /// The key this node signs with: the newest of its keys the registry lists for it.
    fn signer(&self, registry: &Registry) -> Result<ExchangeKey, ExchangeError> {
        let listed = registry.directory.node(&self.node).map(|n| n.keys.as_slice()).unwrap_or_default();
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        keys.iter()
            .find(|k| listed.contains(&k.public_key) && !registry.directory.revoked.contains(&k.kid))
            .cloned()
            .ok_or_else(|| ExchangeError::NoSigningKey { member: self.node.to_string() })
    }

    pub(crate) fn seal_header(&self, registry: &Registry, mut header: Header) -> Result<Sealed, ExchangeError> {
        header.registry = Some(RegistryRef { serial: registry.directory.serial, digest: registry.digest.clone() });
        seal(&header, &self.signer(registry)?.key)
    }

    /// Send a request and wait for its reply. The request is logged before it
    /// leaves; each endpoint of the target is tried in turn with the same
    /// bytes (safe: the receiver answers a retry with its stored reply); the
    /// reply is checked (signed by the target, answering this request) and
    /// logged.
    pub async fn call(&self, store: &Store, call: Call<'_>) -> Result<Reply, CallError> {
        let now = jiff::Timestamp::now();
        let registry = self.current(now)?;
        let target = registry.directory.node(call.to).ok_or_else(|| ExchangeError::UnknownNode { node: call.to.to_string() })?;
        if !registry.directory.hosts(&self.node, call.from) {
            return Err(ExchangeError::BadHeader { reason: format!("{} is not hosted at this node", call.from) }.into());
        }
        let ttl = jiff::SignedDuration::from_secs(self.settings.ttl_secs.clamp(1, registry.directory.policy.max_ttl_seconds));
        let body_ref = BodyRef::of(call.content_type, call.body);
        let body_sm3 = body_ref.sm3.clone();
        let mut header = Header::new(
            Kind::Request,
            Sender { node: self.node.clone(), client: call.from.clone(), on_behalf_of: None },
            Recipient { node: call.to.clone(), service: call.service.to_string() },
            body_ref,
            now,
            ttl,
            rand::random(),
        );
        header.user = call.user;
        let msg_id = header.msg_id.clone();
        let sealed = self.seal_header(&registry, header)?;
        let env_sm3 = sealed.env_sm3();
        store.log_exchange(record(Direction::Out, call.to.as_str(), &msg_id, &env_sm3, &sealed, &body_sm3, now)).await?;
        let (envelope, line) = (sealed.envelope(), sealed.signature_line());
        for endpoint in &target.endpoints {
            let url = format!("{}/gx/1/exchange", endpoint.trim_end_matches('/'));
            let sent = self
                .http
                .post(&url)
                .header(ENVELOPE_HEADER, &envelope)
                .header(SIGNATURE_HEADER, &line)
                .header(header::CONTENT_TYPE, call.content_type)
                .body(call.body.to_vec())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(%url, error = %e, "exchange endpoint did not answer");
                    continue;
                }
            };
            return self.take_reply(store, &registry, call.to, &msg_id, &env_sm3, resp, Kind::Response).await;
        }
        Err(ExchangeError::Unreachable { node: call.to.to_string() }.into())
    }

    #[allow(clippy::too_many_arguments)]
    async fn take_reply(
        &self,
        store: &Store,
        registry: &Registry,
        to: &NodeId,
        msg_id: &str,
        env_sm3: &str,
        resp: reqwest::Response,
        expected: Kind,
    ) -> Result<Reply, CallError> {
        let (reply, record) = self.open_reply(registry, to, msg_id, env_sm3, resp, expected).await?;
        let logged = store.log_exchange(record).await?;
        if let Logged::Seen { env_sm3: seen } = &logged {
            // The same reply again (a retried call) is fine; other bytes under its id are not.
            reply_replay(to, seen, &reply)?;
        }
        Ok(reply)
    }

    /// Open and check a reply (signed by the node asked, addressed here,
    /// answering this message): it and its log record, not yet logged.
    pub(crate) async fn open_reply(
        &self,
        registry: &Registry,
        to: &NodeId,
        msg_id: &str,
        env_sm3: &str,
        resp: reqwest::Response,
        expected: Kind,
    ) -> Result<(Reply, LogRecord), CallError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bad = |reason: &str| CallError::Local(ExchangeError::BadReply { node: to.to_string(), reason: reason.to_string() });
        let body = read_bounded(resp, self.max_body()).await.ok_or_else(|| bad("the body is too large or cut short"))?;
        let (Some(envelope), Some(line)) = (header_str(&headers, ENVELOPE_HEADER), header_str(&headers, SIGNATURE_HEADER)) else {
            return Err(CallError::Refused { status, code: problem_code(&body).unwrap_or_else(|| "unknown".into()) });
        };
        let now = jiff::Timestamp::now();
        let opened = open(envelope, line, &body, &|kid| registry.keyring.signer(kid), now, &registry.directory.policy())
            .map_err(|e| bad(e.code()))?;
        let h = &opened.header;
        if &h.from.node != to || !registry.directory.hosts(to, &h.from.client) {
            return Err(bad("not signed by the node asked"));
        }
        if (h.kind != expected && h.kind != Kind::Error) || h.to.node != self.node {
            return Err(bad("not a reply to this node"));
        }
        if h.in_reply_to.as_ref() != Some(&InReplyTo { msg_id: msg_id.to_string(), env_sm3: env_sm3.to_string() }) {
            return Err(bad("it answers another request"));
        }
        let record = opened_record(Direction::In, to.as_str(), &opened, line);
        let reply = Reply {
            status,
            content_type: opened.header.body.content_type.clone(),
            env_sm3: opened.env_sm3.clone(),
            header: opened.header,
            body: body.to_vec(),
            replayed: header_str(&headers, REPLAYED_HEADER) == Some("true"),
            request_msg_id: msg_id.to_string(),
        };
        Ok((reply, record))
    }
}

/// A reply logged before under its id: the same bytes (a retried call) are
/// fine; other bytes under that id are not.
pub(crate) fn reply_replay(from: &NodeId, seen_env_sm3: &str, reply: &Reply) -> Result<(), CallError> {
    if seen_env_sm3 == reply.env_sm3 {
        return Ok(());
    }
    let code = ExchangeError::IdConflict { msg_id: reply.header.msg_id.clone() }.code();
    Err(CallError::Local(ExchangeError::BadReply { node: from.to_string(), reason: code.to_string() }))
}

/// A look-up in shared data this node makes for one of its members.
pub struct DataFetch<'a> {
    pub from: &'a ClientId,
    pub provider: &'a NodeId,
    /// The provider's service: `{member}/base-data/person/v1` or
    /// `…/enterprise/v1` with a `BaseDataAsk`, or `{member}/sharing/fetch/v1`
    /// with `{resource, subject, fields}`.
    pub service: &'a str,
    /// Who asks and why: the operator (opaque), the purpose, the case.
    pub user: User,
    /// Whose data (citizen ID or USCC): only its SM3 is logged here.
    pub subject: &'a str,
    pub body: serde_json::Value,
}

impl ExchangeRuntime {
    /// Fetch shared data from a provider node under its grant, and log the
    /// access on this side too (who, purpose, case, outcome). The answer
    /// comes with the id of the request that asked (the provenance).
    pub async fn fetch_base_data(&self, store: &Store, f: DataFetch<'_>) -> Result<(BaseDataAnswer, String), CallError> {
        let body = serde_json::to_vec(&f.body).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
        let call = Call {
            from: f.from,
            to: f.provider,
            service: f.service,
            user: Some(f.user.clone()),
            content_type: "application/json",
            body: &body,
        };
        let outcome = self.call(store, call).await;
        let mut access = yiwang_store::DataAccess {
            side: "consumer",
            at: crate::ts(jiff::Timestamp::now()),
            resource_code: String::new(),
            peer_node: f.provider.to_string(),
            consumer: f.from.to_string(),
            operator: f.user.id.clone(),
            purpose: f.user.purpose.clone(),
            issue: f.user.issue.clone(),
            grant_id: None,
            outcome: String::new(),
            fields: Vec::new(),
            subject_sm3: crate::sharing::subject_sm3(f.subject),
            msg_id: String::new(),
        };
        if let Ok(reply) = &outcome {
            access.msg_id.clone_from(&reply.request_msg_id);
        }
        let result = outcome.and_then(Reply::answered).and_then(|reply| {
            serde_json::from_slice::<BaseDataAnswer>(&reply.body)
                .map_err(|e| CallError::Local(ExchangeError::BadReply { node: f.provider.to_string(), reason: e.to_string() }))
        });
        match &result {
            Ok(a) => {
                access.resource_code.clone_from(&a.resource);
                access.grant_id = Some(a.grant.clone());
                access.outcome = if a.found { "allowed".into() } else { "not_found".into() };
                access.fields = a.data.keys().cloned().collect();
            }
            Err(CallError::Answered { code, .. } | CallError::Refused { code, .. }) => access.outcome = format!("refused:{code}"),
            Err(CallError::Local(e)) => access.outcome = format!("failed:{}", e.code()),
            Err(CallError::Store(_)) => access.outcome = "failed:store".into(),
        }
        let mut tx = store.begin().await?;
        tx.log_data_access(&access).await?;
        tx.commit().await?;
        result.map(|a| (a, access.msg_id))
    }
}

/// A 共享申请 one of this node's agencies sends.
pub struct Apply<'a> {
    pub from: &'a ClientId,
    pub provider_node: &'a NodeId,
    /// The providing agency, `CN/GOV/{USCC}`.
    pub provider_member: &'a ClientId,
    pub application: &'a yiwang_sharing::Application,
    /// Who sent it here (an account id, or `cli`).
    pub applied_by: &'a str,
}

impl ExchangeRuntime {
    fn json_call<'a>(from: &'a ClientId, to: &'a NodeId, service: &'a str, body: &'a [u8]) -> Call<'a> {
        Call { from, to, service, user: None, content_type: "application/json", body }
    }

    /// Send a 共享申请 to the provider's node and keep it once acknowledged.
    pub async fn apply_for_resource(&self, store: &Store, a: Apply<'_>) -> Result<yiwang_store::SharingApplicationRow, CallError> {
        let body = serde_json::to_vec(a.application).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
        let service = format!("{}/sharing/apply/v1", a.provider_member.member());
        let reply = self.call(store, Self::json_call(a.from, a.provider_node, &service, &body)).await?.answered()?;
        let bad =
            |reason: &str| CallError::Local(ExchangeError::BadReply { node: a.provider_node.to_string(), reason: reason.to_string() });
        let v: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|_| bad("the answer is not JSON"))?;
        let (Some(request_id), Some(due_on)) = (v["request_id"].as_str(), v["due_on"].as_str()) else {
            return Err(bad("the answer names no request_id and due_on"));
        };
        let sent = yiwang_store::SentApplication {
            consumer: a.from.as_str(),
            provider_node: a.provider_node.as_str(),
            provider_member: a.provider_member.member(),
            request_id,
            application: a.application,
            due_on,
            applied_by: a.applied_by,
        };
        Ok(store.record_sharing_application(&sent, jiff::Timestamp::now()).await?)
    }

    /// Ask the provider where a sent request stands, and record it; true when it changed.
    pub async fn refresh_application(&self, store: &Store, app: &yiwang_store::SharingApplicationRow) -> Result<bool, CallError> {
        let from = ClientId::parse(&app.consumer)?;
        let to = NodeId::parse(&app.provider_node)?;
        let service = format!("{}/sharing/status/v1", app.provider_member);
        let body = serde_json::to_vec(&serde_json::json!({ "request_id": app.request_id })).unwrap_or_default();
        let reply = self.call(store, Self::json_call(&from, &to, &service, &body)).await?.answered()?;
        let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        let state = v["state"].as_str().and_then(yiwang_sharing::RequestState::parse).ok_or_else(|| {
            CallError::Local(ExchangeError::BadReply { node: app.provider_node.clone(), reason: "no state in the answer".into() })
        })?;
        Ok(store.update_sharing_application(&app.id, state, v["reason"].as_str(), v["grant"].as_str(), jiff::Timestamp::now()).await?)
    }
}

impl ExchangeRuntime {
    /// The catalog this node registers with its parent: its own described
    /// resources and everything its children registered with it.
    pub async fn catalog_snapshot(&self, store: &Store) -> Result<Vec<yiwang_store::NetworkResource>, CallError> {
        let instance = self.node.instance();
        let mut out: Vec<yiwang_store::NetworkResource> = store
            .described_resources()
            .await?
            .into_iter()
            .map(|r| yiwang_store::NetworkResource {
                source_node: self.node.to_string(),
                code: r.code,
                provider_member: format!("{instance}/GOV/{}", r.provider_uscc),
                name: r.name,
                sharing: r.sharing,
            })
            .collect();
        out.extend(store.network_resources().await?);
        Ok(out)
    }

    /// Register this node's catalog with its parent (none for the national
    /// node); gives how many resources the parent took.
    pub async fn push_catalog(&self, store: &Store) -> Result<Option<usize>, CallError> {
        let registry = self.current(jiff::Timestamp::now())?;
        let Some((parent, parent_member)) = self.parent_of(&registry)? else { return Ok(None) };
        let entries = self.catalog_snapshot(store).await?;
        let body = serde_json::to_vec(&entries).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
        let service = format!("{}/sharing/catalog/v1", parent_member.member());
        self.call(store, Self::json_call(&self.member, &parent, &service, &body)).await?.answered()?;
        Ok(Some(entries.len()))
    }
}

impl ExchangeRuntime {
    /// 目录清单 flowing down: take the basic catalog from the parent node
    /// (`catalog/basic/v1`) in place of the last; none for the national node.
    /// Gives how many entries came.
    pub async fn pull_basic_catalog(&self, store: &Store) -> Result<Option<usize>, CallError> {
        #[derive(Deserialize)]
        struct Sent {
            entries: Vec<yiwang_catalog::BasicItem>,
        }
        let registry = self.current(jiff::Timestamp::now())?;
        let Some((parent, parent_member)) = self.parent_of(&registry)? else { return Ok(None) };
        let service = format!("{}/catalog/basic/v1", parent_member.member());
        let reply = self.call(store, Self::json_call(&self.member, &parent, &service, b"{}")).await?.answered()?;
        let bad = |reason: String| CallError::Local(ExchangeError::BadReply { node: parent.to_string(), reason });
        let sent: Sent = serde_json::from_slice(&reply.body).map_err(|e| bad(e.to_string()))?;
        if sent.entries.len() > yiwang_store::MAX_BASIC_ENTRIES {
            return Err(bad(format!("more than {} basic catalog entries", yiwang_store::MAX_BASIC_ENTRIES)));
        }
        for e in &sent.entries {
            let long = |s: &str, n: usize| s.chars().count() > n;
            if yiwang_codes::BasicCode::parse(&e.basic_code).is_err()
                || long(&e.name, 1000)
                || long(&e.by_law, 20_000)
                || e.use_levels.len() > 8
            {
                return Err(bad(format!("the basic catalog entry {:?} is not well formed", e.basic_code)));
            }
        }
        store.replace_upstream_basic(parent.as_str(), &sent.entries, jiff::Timestamp::now()).await?;
        Ok(Some(sent.entries.len()))
    }
}

/// Every `refresh_secs`: register the catalog with the parent, take the
/// basic catalog from it, and ask providers where this node's undecided
/// requests stand.
pub async fn run_sharing_status_refresh(state: AppState) {
    let Some(rt) = state.exchange() else { return };
    let every = Duration::from_secs(rt.settings.refresh_secs.clamp(5, 86_400));
    loop {
        tokio::time::sleep(every).await;
        // The catalog registered with the parent, as a full snapshot each round.
        match rt.push_catalog(state.store()).await {
            Ok(Some(n)) => tracing::debug!(resources = n, "catalog registered with the parent node"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the catalog could not be registered with the parent node"),
        }
        match rt.pull_basic_catalog(state.store()).await {
            Ok(Some(n)) => tracing::debug!(entries = n, "basic catalog taken from the parent node"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the basic catalog could not be taken from the parent node"),
        }
        let pending = match state.store().sharing_applications().await {
            Ok(all) => all.into_iter().filter(|a| a.state == yiwang_sharing::RequestState::Submitted),
            Err(e) => {
                tracing::warn!(error = %e, "sharing applications could not be read");
                continue;
            }
        };
        for app in pending {
            match rt.refresh_application(state.store(), &app).await {
                Ok(true) => tracing::info!(id = %app.id, "a sharing request was decided"),
                Ok(false) => {}
                Err(e) => tracing::warn!(id = %app.id, error = %e, "a sharing request's status could not be fetched"),
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A response body, refused past `max` bytes (read chunk by chunk, so a large
/// body is never held whole).
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Option<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return None;
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if out.len() + chunk.len() > max {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out)
}

/// The log record of an envelope this node sealed (`env_sm3`: its SM3, computed once by the caller).
pub(crate) fn record(
    direction: Direction,
    peer: &str,
    msg_id: &str,
    env_sm3: &str,
    sealed: &Sealed,
    body_sm3: &str,
    now: jiff::Timestamp,
) -> LogRecord {
    LogRecord {
        direction,
        peer: peer.to_string(),
        msg_id: msg_id.to_string(),
        env_sm3: env_sm3.to_string(),
        header: String::from_utf8_lossy(&sealed.header_bytes).into_owned(),
        signature: sealed.signature_line(),
        body_sm3: body_sm3.to_string(),
        logged_at: crate::ts(now),
    }
}

fn opened_record(direction: Direction, peer: &str, opened: &Opened, signature_line: &str) -> LogRecord {
    LogRecord {
        direction,
        peer: peer.to_string(),
        msg_id: opened.header.msg_id.clone(),
        env_sm3: opened.env_sm3.clone(),
        header: String::from_utf8_lossy(&opened.header_bytes).into_owned(),
        signature: signature_line.trim().to_string(),
        body_sm3: opened.header.body.sm3.clone(),
        logged_at: crate::ts(jiff::Timestamp::now()),
    }
}

/// What a service answered, or why it did not.
pub(crate) type Outcome = Result<(String, Vec<u8>), ExchangeError>;

/// A service's request body, as JSON of the shape it takes (`gx.bad_body` otherwise).
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ExchangeError> {
    serde_json::from_slice(body).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })
}

/// A service's JSON answer.
pub(crate) fn json_outcome<T: Serialize>(answer: &T) -> Outcome {
    let body = serde_json::to_vec(answer).map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
    Ok(("application/json".into(), body))
}

/// `POST /gx/1/exchange`: a peer node's request.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match receive_inner(&state, &headers, &body).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn receive_inner(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let rt = state.exchange().ok_or(ExchangeError::NotConfigured)?;
    if body.len() > rt.max_body() {
        return Err(ExchangeError::TooLarge { max: rt.max_body() }.into());
    }
    let now = jiff::Timestamp::now();
    let registry = rt.current(now)?;
    let (envelope, line) =
        (header_str(headers, ENVELOPE_HEADER).unwrap_or_default(), header_str(headers, SIGNATURE_HEADER).unwrap_or_default());
    let opened = open(envelope, line, body, &|kid| registry.keyring.signer(kid), now, &registry.directory.policy())?;
    let h = &opened.header;
    if !registry.directory.hosts(&h.from.node, &h.from.client) {
        return Err(ExchangeError::SignerMismatch { kid: h.from.client.to_string() }.into());
    }
    if h.to.node != rt.node {
        return Err(ExchangeError::UnknownNode { node: h.to.node.to_string() }.into());
    }
    if !matches!(h.kind, Kind::Request | Kind::Event) {
        return Err(ExchangeError::BadHeader { reason: format!("{:?} messages are not taken here", h.kind) }.into());
    }
    let peer = h.from.node.as_str();
    let mut tx = state.store().begin().await?;
    let log_seq = match tx.log_exchange(opened_record(Direction::In, peer, &opened, line)).await? {
        Logged::Seen { env_sm3 } => {
            // A retry (a resent event, a repeated request): the same answer, acted on once.
            replay(Some(&env_sm3), &opened)?;
            let kept = tx.exchange_reply(peer, &h.msg_id).await?;
            tx.rollback().await?;
            let kept = kept.ok_or_else(|| ExchangeError::Provider { reason: "the stored reply is missing".into() })?;
            return Ok(reply_response(&kept, true));
        }
        Logged::Appended(entry) => entry.seq,
    };
    let (client, outcome) = match ServiceId::parse(&h.to.service) {
        Ok(service) if registry.directory.hosts(&rt.node, &service.subsystem) => {
            let outcome = serve(state, rt, &registry, &service, &opened, body, &mut tx).await;
            (service.subsystem, outcome)
        }
        Ok(service) => (rt.member.clone(), Err(ExchangeError::UnknownService { service: service.to_string() })),
        Err(e) => (rt.member.clone(), Err(e)),
    };
    let (kind, status, content_type, reply_body) = match outcome {
        // An event is answered by a signed receipt: accepted, when, and where it is logged.
        Ok((_, body)) if h.kind == Kind::Event => {
            let receipt = crate::exchange_async::ReceiptBody {
                status: "accepted".into(),
                received_at: crate::ts(now),
                log_seq,
                result: serde_json::from_slice(&body).unwrap_or_default(),
            };
            (Kind::Receipt, 200u16, "application/json".to_string(), serde_json::to_vec(&receipt).unwrap_or_default())
        }
        Ok((content_type, body)) => (Kind::Response, 200u16, content_type, body),
        Err(e) => {
            let problem = Problem::from_error(&e);
            (Kind::Error, problem.status, "application/problem+json".to_string(), serde_json::to_vec(&problem).unwrap_or_default())
        }
    };
    let ttl = jiff::SignedDuration::from_secs(registry.directory.policy.max_skew_seconds.max(1));
    let body_ref = BodyRef::of(&content_type, &reply_body);
    let body_sm3 = body_ref.sm3.clone();
    let mut header = Header::new(
        kind,
        Sender { node: rt.node.clone(), client, on_behalf_of: None },
        Recipient { node: h.from.node.clone(), service: h.to.service.clone() },
        body_ref,
        jiff::Timestamp::now(),
        ttl,
        rand::random(),
    );
    header.conv_id.clone_from(&h.conv_id);
    header.in_reply_to = Some(InReplyTo { msg_id: h.msg_id.clone(), env_sm3: opened.env_sm3.clone() });
    let reply_id = header.msg_id.clone();
    let sealed = rt.seal_header(&registry, header)?;
    tx.log_exchange(record(Direction::Out, peer, &reply_id, &sealed.env_sm3(), &sealed, &body_sm3, now)).await?;
    let kept = StoredReply { status, envelope: sealed.envelope(), signature: sealed.signature_line(), content_type, body: reply_body };
    tx.put_exchange_reply(peer, &h.msg_id, &kept, now).await?;
    tx.commit().await?;
    Ok(reply_response(&kept, false))
}

fn reply_response(kept: &StoredReply, replayed: bool) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, kept.body.clone()).into_response();
    let h = resp.headers_mut();
    for (name, value) in [(ENVELOPE_HEADER, kept.envelope.as_str()), (SIGNATURE_HEADER, kept.signature.as_str())] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&kept.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if replayed {
        h.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    resp
}

/// The services this node offers to its peers. Each data service is checked
/// against the provider's grants before it reads anything (default deny) and
/// logs the access in the request's transaction; the metaservice reveals no
/// data.
async fn serve(
    state: &AppState,
    rt: &ExchangeRuntime,
    registry: &Registry,
    service: &ServiceId,
    opened: &Opened,
    body: &[u8],
    tx: &mut Tx,
) -> Outcome {
    let key = (service.subsystem_name(), service.code.as_str(), service.version.as_str());
    // One-way services take events; the others answer requests.
    let takes_events = EVENT_SERVICES.contains(&key);
    if (opened.header.kind == Kind::Event) != takes_events {
        let takes = if takes_events { "events" } else { "requests" };
        return Err(ExchangeError::BadHeader { reason: format!("{service} takes {takes}") });
    }
    match key {
        ("meta", "list", "v1") => {
            let member = service.subsystem.member();
            let services: Vec<String> = SERVICES.iter().map(|(sub, code, v)| format!("{member}/{sub}/{code}/{v}")).collect();
            let body = serde_json::json!({
                "node": rt.node,
                "member": member,
                "services": services,
                "registry_serial": registry.directory.serial,
                "asked_by": opened.header.from.client,
            });
            json_outcome(&body)
        }
        ("base-data", "person" | "enterprise" | "credit", "v1") => base_data(state, service, opened, body, tx).await,
        ("sharing", "apply", "v1") => sharing_apply(state, service, opened, body, tx).await,
        ("sharing", "status", "v1") => sharing_status(state, opened, body).await,
        ("sharing", "fetch", "v1") => sharing_fetch(state, service, opened, body, tx).await,
        ("sharing", "catalog", "v1") => sharing_catalog(rt, registry, opened, body, tx).await,
        ("catalog", "basic", "v1") => {
            let entries = state.store().basic_catalog_to_send().await.map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
            json_outcome(&serde_json::json!({ "node": rt.node, "entries": entries }))
        }
        ("licenses", "verify", "v1") => license_verify(state, body).await,
        ("stats", "records", "v1") => crate::exchange_async::records_from_below(rt, registry, opened, body, tx).await,
        ("log", "anchor", "v1") => crate::exchange_async::anchor_from_below(rt, registry, opened, body, tx).await,
        _ => Err(ExchangeError::UnknownService { service: service.to_string() }),
    }
}

/// The services that take one-way events (answered by a receipt).
const EVENT_SERVICES: &[(&str, &str, &str)] = &[("stats", "records", "v1"), ("log", "anchor", "v1")];

/// Every service `serve` answers, as (subsystem, code, version).
const SERVICES: &[(&str, &str, &str)] = &[
    ("meta", "list", "v1"),
    ("base-data", "person", "v1"),
    ("base-data", "enterprise", "v1"),
    ("base-data", "credit", "v1"),
    ("sharing", "apply", "v1"),
    ("sharing", "status", "v1"),
    ("sharing", "fetch", "v1"),
    ("sharing", "catalog", "v1"),
    ("catalog", "basic", "v1"),
    ("licenses", "verify", "v1"),
    ("stats", "records", "v1"),
    ("log", "anchor", "v1"),
];

/// What a verifier presents to the issuer's node: the QR token, or the sealed license.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PresentedLicense {
    Token(String),
    Sealed(Box<yiwang_license::SealedLicense>),
}

impl PresentedLicense {
    /// The sealing agency's USCC it names (a token's claims, a seal's signer), if it reads.
    pub fn signer(&self) -> Option<String> {
        match self {
            PresentedLicense::Token(t) => yiwang_license::read_token(t).ok().map(|(c, _, _)| c.signer),
            PresentedLicense::Sealed(s) => Some(s.seal.signer.clone()),
        }
    }
}

/// Whether a local verdict failed for want of the seal's key (sealed on another node).
pub fn sealed_elsewhere(verdict: &yiwang_license::verdict::Verdict) -> bool {
    verdict.error.as_ref().is_some_and(|e| e.code == "license.unknown_key")
}

/// `licenses/verify/v1`: the issuer's node checks a license it sealed (its
/// keys, its registry's status) for another node, and answers the verdict a
/// member of the public may see (masked), signed as every reply is.
async fn license_verify(state: &AppState, body: &[u8]) -> Outcome {
    let presented: PresentedLicense = parse_body(body)?;
    let presented = match presented {
        PresentedLicense::Token(t) => yiwang_store::Presented::Token(yiwang_license::token_in(&t)),
        PresentedLicense::Sealed(s) => yiwang_store::Presented::Sealed(*s),
    };
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let verdict = state.store().verify_license(presented, today).await.map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
    json_outcome(&verdict)
}

impl ExchangeRuntime {
    /// The verdict of the issuer's node for a license this node gave
    /// `local` on without the seal's key (`sealed_elsewhere`); `local`
    /// otherwise, and when the issuer's node cannot be asked (logged).
    pub async fn or_issuers_verdict(
        &self,
        store: &Store,
        local: yiwang_license::verdict::Verdict,
        presented: &PresentedLicense,
    ) -> yiwang_license::verdict::Verdict {
        let Some(signer) = presented.signer().filter(|_| sealed_elsewhere(&local)) else { return local };
        match self.verify_license_remote(store, &signer, presented).await {
            Ok(Some(remote)) => remote,
            Ok(None) => local,
            Err(e) => {
                tracing::warn!(error = %e, "the issuer's node could not verify the license");
                local
            }
        }
    }

    /// Have the node hosting `signer` (the sealing agency's USCC) verify a
    /// license this node holds no key for. `None` when the registry places the
    /// signer nowhere, or here.
    pub async fn verify_license_remote(
        &self,
        store: &Store,
        signer: &str,
        presented: &PresentedLicense,
    ) -> Result<Option<yiwang_license::verdict::Verdict>, CallError> {
        let registry = self.current(jiff::Timestamp::now())?;
        let Some(home) = registry.directory.members.iter().find(|m| m.id.uscc() == signer).map(|m| (m.id.clone(), m.home.clone())) else {
            return Ok(None);
        };
        if home.1 == self.node {
            return Ok(None);
        }
        let body = serde_json::to_vec(presented).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
        let service = format!("{}/licenses/verify/v1", home.0.member());
        let reply = self.call(store, Self::json_call(&self.member, &home.1, &service, &body)).await?.answered()?;
        let mut verdict: yiwang_license::verdict::Verdict = serde_json::from_slice(&reply.body)
            .map_err(|e| CallError::Local(ExchangeError::BadReply { node: home.1.to_string(), reason: e.to_string() }))?;
        verdict.verified_by = Some(home.1.to_string());
        Ok(Some(verdict))
    }
}

/// The most resources one catalog registration carries.
const MAX_CATALOG_ENTRIES: usize = 10_000;

/// Whether `node` is `ancestor` or lies below it in the registry's tree.
pub(crate) fn at_or_below(directory: &Directory, node: &str, ancestor: &NodeId) -> bool {
    let mut at = NodeId::parse(node).ok();
    // A tree of four tiers: a few steps up at most, bounded against a malformed one.
    for _ in 0..8 {
        match at {
            Some(n) if &n == ancestor => return true,
            Some(n) => at = directory.node(&n).and_then(|e| e.parent.clone()),
            None => return false,
        }
    }
    false
}

/// `sharing/catalog/v1`: a child node registers its resource catalog (its
/// own described resources and what its children registered with it) with
/// its parent, as a full snapshot replacing the last. Only a node whose parent
/// this node is may register, and only resources of nodes at or below it.
async fn sharing_catalog(rt: &ExchangeRuntime, registry: &Registry, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    let sender = &opened.header.from.node;
    let d = &registry.directory;
    if !d.is_child(sender, &rt.node) {
        return Err(ExchangeError::AccessDenied);
    }
    let entries: Vec<yiwang_store::NetworkResource> = parse_body(body)?;
    if entries.len() > MAX_CATALOG_ENTRIES {
        return Err(ExchangeError::BadBody { reason: format!("at most {MAX_CATALOG_ENTRIES} resources") });
    }
    for e in &entries {
        let hosted = NodeId::parse(&e.source_node)
            .is_ok_and(|n| ClientId::parse(&e.provider_member).is_ok_and(|m| m.member() == m.as_str() && d.hosts(&n, &m)));
        if !at_or_below(d, &e.source_node, sender) || !hosted {
            return Err(ExchangeError::BadBody {
                reason: format!("{} of {} is not a resource of a node at or below {sender}", e.code, e.provider_member),
            });
        }
        if let Some((field, _, en)) = e.sharing.problems().into_iter().next() {
            return Err(ExchangeError::BadBody { reason: format!("{}: {field}: {en}", e.code) });
        }
        if e.code.is_empty() || e.code.len() > 64 || e.name.chars().count() > 100 {
            return Err(ExchangeError::BadBody { reason: format!("{}: a code of 1–64 and a name of at most 100 characters", e.code) });
        }
    }
    tx.replace_network_resources(sender.as_str(), &entries, jiff::Timestamp::now())
        .await
        .map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
    let answer = serde_json::json!({ "registered": entries.len() });
    json_outcome(&answer)
}

/// `sharing/apply/v1`: a consumer's 共享申请 for one of the provider
/// agency's described resources, kept in the message's transaction, due in
/// 10 working days by this node's calendar.
async fn sharing_apply(state: &AppState, service: &ServiceId, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    let h = &opened.header;
    let internal = |e: yiwang_store::StoreError| ExchangeError::Provider { reason: e.to_string() };
    let app: yiwang_sharing::Application = parse_body(body)?;
    let provider_uscc = service.subsystem.uscc();
    let resource = state
        .store()
        .shared_resource(&app.resource)
        .await
        .map_err(internal)?
        .filter(|r| r.provider_uscc == provider_uscc)
        .ok_or_else(|| ExchangeError::BadBody { reason: format!("{provider_uscc} provides no described resource {}", app.resource) })?;
    yiwang_sharing::check_application(&app, &resource.sharing).map_err(|e| ExchangeError::BadBody { reason: e.to_string() })?;
    let now = jiff::Timestamp::now();
    let calendar = state.store().load_calendar().await.map_err(internal)?;
    let due = calendar
        .add_workdays(yiwang_calendar::china_today(now), yiwang_sharing::DECISION_WORKDAYS)
        .map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
    let id =
        tx.submit_sharing_request(h.from.client.as_str(), h.from.node.as_str(), &app, due.value, &h.msg_id, now).await.map_err(internal)?;
    let answer = serde_json::json!({ "request_id": id, "state": "submitted", "due_on": due.value.to_string() });
    json_outcome(&answer)
}

/// `sharing/status/v1`: where a request stands, for the member that made it
/// (to anyone else it does not exist).
async fn sharing_status(state: &AppState, opened: &Opened, body: &[u8]) -> Outcome {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ask {
        request_id: String,
    }
    let ask: Ask = parse_body(body)?;
    let req = state.store().sharing_request(&ask.request_id).await.map_err(|e| ExchangeError::Provider { reason: e.to_string() })?;
    let asker = opened.header.from.client.member();
    let req = req
        .filter(|r| ClientId::parse(&r.consumer).is_ok_and(|c| c.member() == asker))
        .ok_or_else(|| ExchangeError::BadBody { reason: format!("no sharing request {} of {asker}", ask.request_id) })?;
    let answer = serde_json::json!({
        "request_id": req.id, "resource": req.resource_code, "state": req.state, "due_on": req.due_on,
        "decided_at": req.decided_at, "reason": req.reason, "grant": req.grant_id,
    });
    json_outcome(&answer)
}

/// A look-up in the base data (人口库 by citizen ID, 法人库 by USCC).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseDataAsk {
    /// The citizen ID (person) or the USCC (enterprise).
    pub subject: String,
    /// The information items wanted.
    pub fields: Vec<String>,
}

/// What a base-data service answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseDataAnswer {
    pub resource: String,
    pub grant: String,
    /// Whether the subject is there (and within the grant's rows).
    pub found: bool,
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Items asked for that the grant does not cover.
    pub withheld: Vec<String>,
    /// The provider's names for the resource, itself and the items given, so
    /// a consumer that has not described the resource can show them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<yiwang_case::SharedLabels>,
}

/// The service that serves a 电子证照库 resource.
pub(crate) const LICENSE_SERVICE: &str = "base-data/license/v1";

/// Which base data a resource is read from, by the service that serves it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseTable {
    Persons,
    Enterprises,
    /// 信用信息库: a subject's standing (失信, 告知承诺不实).
    Credit,
    /// 电子证照库: the holder's newest valid license of each type; the
    /// resource's information items are license type codes in lower case
    /// (item names are), so a grant limits which types a consumer reads.
    Licenses,
}

impl BaseTable {
    pub(crate) fn of(service: Option<&str>) -> Option<BaseTable> {
        match service {
            Some("base-data/person/v1") => Some(BaseTable::Persons),
            Some("base-data/enterprise/v1") => Some(BaseTable::Enterprises),
            Some("base-data/credit/v1") => Some(BaseTable::Credit),
            Some(LICENSE_SERVICE) => Some(BaseTable::Licenses),
            _ => None,
        }
    }
}

async fn base_data(state: &AppState, service: &ServiceId, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    let provider_uscc = service.subsystem.uscc();
    let local = format!("{}/{}/{}", service.subsystem_name(), service.code, service.version);
    let resource = state
        .store()
        .shared_resource_by_service(provider_uscc, &local)
        .await
        .map_err(|e| ExchangeError::Provider { reason: e.to_string() })?
        .ok_or_else(|| ExchangeError::UnknownService { service: service.to_string() })?;
    let table = BaseTable::of(Some(&local)).ok_or_else(|| ExchangeError::UnknownService { service: service.to_string() })?;
    let ask: BaseDataAsk = parse_body(body)?;
    json_outcome(&read_shared(state, resource, table, ask, opened, tx).await?)
}

/// `sharing/fetch/v1`: a resource by its catalog code, whatever service
/// serves it: what 免提交 asks, knowing the resource a material names. With
/// no `fields`, whatever the grant allows.
async fn sharing_fetch(state: &AppState, service: &ServiceId, opened: &Opened, body: &[u8], tx: &mut Tx) -> Outcome {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FetchAsk {
        resource: String,
        subject: String,
        #[serde(default)]
        fields: Vec<String>,
    }
    let ask: FetchAsk = parse_body(body)?;
    let provider_uscc = service.subsystem.uscc();
    let resource = state
        .store()
        .shared_resource(&ask.resource)
        .await
        .map_err(|e| ExchangeError::Provider { reason: e.to_string() })?
        .filter(|r| r.provider_uscc == provider_uscc)
        .ok_or_else(|| ExchangeError::BadBody { reason: format!("{provider_uscc} provides no described resource {}", ask.resource) })?;
    let table = BaseTable::of(resource.sharing.service.as_deref())
        .ok_or_else(|| ExchangeError::UnknownService { service: format!("{} (resource {})", service, ask.resource) })?;
    let all = ask.fields.is_empty();
    let fields = if all { resource.sharing.item_names() } else { ask.fields };
    let mut answer = read_shared(state, resource, table, BaseDataAsk { subject: ask.subject, fields }, opened, tx).await?;
    if all {
        // Asked for "whatever the grant allows": nothing is withheld from the asker's view.
        answer.withheld.clear();
    }
    json_outcome(&answer)
}

/// Decide one access on the provider's grants, read the row if allowed, log
/// the access in the request's transaction, and answer.
async fn read_shared(
    state: &AppState,
    resource: yiwang_store::SharedResource,
    table: BaseTable,
    ask: BaseDataAsk,
    opened: &Opened,
    tx: &mut Tx,
) -> Result<BaseDataAnswer, ExchangeError> {
    let h = &opened.header;
    let (node, consumer) = (h.from.node.to_string(), h.from.client.to_string());
    let reader = Reader {
        consumer: &consumer,
        peer_node: &node,
        operator: h.user.as_ref().map_or("", |u| u.id.as_str()),
        purpose: h.user.as_ref().map(|u| u.purpose.as_str()),
        issue: h.user.as_ref().and_then(|u| u.issue.as_deref()),
        msg_id: &h.msg_id,
    };
    read_under_grant(state.store(), resource, table, &ask, &reader, tx).await
}

/// What the 电子证照库 gives for one license: enough to name it on the
/// consumer's case and to verify it at its issuer (`licenses/verify/v1`), not
/// the sealed document itself.
fn license_summary(l: &yiwang_store::StoredLicense) -> serde_json::Value {
    serde_json::json!({
        "license_id": l.id,
        "number": l.number,
        "holder_name": l.holder.name,
        "issuer_uscc": l.issuer_uscc,
        "valid_from": l.valid_from,
        "valid_until": l.valid_until,
        "version": l.version,
    })
}

/// Who reads shared data, as the provider decides and logs it: a member
/// asking through the exchange, or an agency on this node reading directly.
pub(crate) struct Reader<'a> {
    pub consumer: &'a str,
    pub peer_node: &'a str,
    pub operator: &'a str,
    pub purpose: Option<&'a str>,
    pub issue: Option<&'a str>,
    /// The exchange message that asked (empty for a read on this node).
    pub msg_id: &'a str,
}

/// The provider's side of one access, wherever the asker is: decide it on
/// the resource's grants (default deny), read the row if allowed, and log the
/// access in `tx`.
pub(crate) async fn read_under_grant(
    store: &Store,
    resource: yiwang_store::SharedResource,
    table: BaseTable,
    ask: &BaseDataAsk,
    reader: &Reader<'_>,
    tx: &mut Tx,
) -> Result<BaseDataAnswer, ExchangeError> {
    let internal = |e: yiwang_store::StoreError| ExchangeError::Provider { reason: e.to_string() };
    if ask.fields.is_empty() || ask.fields.len() > 64 || ask.subject.len() > 64 {
        return Err(ExchangeError::BadBody { reason: "1–64 fields and a subject of at most 64 characters".into() });
    }
    let grants = store.grants_on(&resource.code).await.map_err(internal)?;
    let now = jiff::Timestamp::now();
    let purpose = reader.purpose;
    let decision = yiwang_sharing::decide(
        &grants,
        &yiwang_sharing::Ask { resource: &resource.code, consumer: reader.consumer, fields: &ask.fields, purpose, now },
    );
    let mut access = yiwang_store::DataAccess {
        side: "provider",
        at: crate::ts(now),
        resource_code: resource.code.clone(),
        peer_node: reader.peer_node.to_string(),
        consumer: reader.consumer.to_string(),
        operator: reader.operator.to_string(),
        purpose: purpose.unwrap_or_default().to_string(),
        issue: reader.issue.map(str::to_string),
        grant_id: None,
        outcome: String::new(),
        fields: Vec::new(),
        subject_sm3: crate::sharing::subject_sm3(&ask.subject),
        msg_id: reader.msg_id.to_string(),
    };
    let granted = match decision {
        Ok(a) => a,
        Err(why) => {
            access.outcome = format!("denied:{}", why.code());
            tx.log_data_access(&access).await.map_err(internal)?;
            return Err(ExchangeError::AccessDenied);
        }
    };
    let row = match table {
        BaseTable::Persons => store.base_person(ask.subject.trim()).await.map_err(internal)?.map(|p| {
            let division = p.address_division.clone();
            (serde_json::to_value(&p).unwrap_or_default(), division)
        }),
        BaseTable::Enterprises => store.base_enterprise(&ask.subject.trim().to_uppercase()).await.map_err(internal)?.map(|e| {
            let division = yiwang_store::subject_division("049", &e.uscc).to_string();
            (serde_json::to_value(&e).unwrap_or_default(), division)
        }),
        BaseTable::Credit => {
            let subject = ask.subject.trim().to_uppercase();
            let kind = yiwang_store::subject_type_of(&subject);
            let division = yiwang_store::subject_division(kind, &subject).to_string();
            let standing = store.credit_standing(kind, &subject, yiwang_calendar::china_today(now)).await.map_err(internal)?;
            let value = serde_json::json!({
                "dishonest": standing.dishonest,
                "commitment_violations": standing.commitment_violations,
                "commitment_offered": standing.commitment_offered(),
            });
            Some((value, division))
        }
        BaseTable::Licenses => {
            let subject = ask.subject.trim().to_uppercase();
            let kind = yiwang_store::subject_type_of(&subject);
            let division = yiwang_store::subject_division(kind, &subject).to_string();
            let held = store.licenses_of(kind, &subject).await.map_err(internal)?;
            let today = yiwang_calendar::china_today(now);
            let mut by_type = serde_json::Map::new();
            // Newest first: the first valid one of a type is the one given.
            for l in held.iter().filter(|l| l.status == yiwang_store::LicenseStatus::Valid && !l.expired_on(today)) {
                let item = l.type_code.to_lowercase();
                if !by_type.contains_key(&item) && ask.fields.contains(&item) {
                    by_type.insert(item, license_summary(l));
                }
            }
            (!by_type.is_empty()).then_some((serde_json::Value::Object(by_type), division))
        }
    };
    let mut data = serde_json::Map::new();
    let found = match row {
        Some((value, division)) if granted.row_scope.covers(&division) => {
            for f in &granted.fields {
                if let Some(v) = value.get(f) {
                    data.insert(f.clone(), v.clone());
                }
            }
            access.outcome = "allowed".into();
            true
        }
        // Out of the grant's rows reads as absent to the consumer; the log tells them apart.
        Some(_) => {
            access.outcome = "out_of_scope".into();
            false
        }
        None => {
            access.outcome = "not_found".into();
            false
        }
    };
    access.grant_id = Some(granted.grant_id.clone());
    access.fields = if found { granted.fields.clone() } else { Vec::new() };
    tx.log_data_access(&access).await.map_err(internal)?;
    let provider_name = store.agency(&resource.provider_uscc).await.map_err(internal)?.map(|a| a.name).unwrap_or_default();
    let items = resource.sharing.items.iter().filter(|i| data.contains_key(&i.name)).map(|i| (i.name.clone(), i.label.clone())).collect();
    let labels = yiwang_case::SharedLabels { resource_name: resource.name.clone(), provider_name, items };
    Ok(BaseDataAnswer { resource: resource.code, grant: granted.grant_id, found, data, withheld: granted.withheld, labels: Some(labels) })
}

/// `GET /gx/1/registry`: the registry in hand, its exact bytes with the
/// signature line, for nodes below and mirrors to fetch.
pub async fn publish_registry(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rt = state.exchange().ok_or(ExchangeError::NotConfigured)?;
    let registry = rt.registry().ok_or(ExchangeError::NoRegistry)?;
    let mut resp = (StatusCode::OK, registry.bytes.clone()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&registry.signature_line) {
        h.insert(SIGNATURE_HEADER, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// Fetch the registry every `refresh_secs` (the watchdog of the design: a
/// failed fetch is logged and retried; the copy in hand serves meanwhile).
pub async fn run_registry_refresh(state: AppState) {
    let Some(rt) = state.exchange() else { return };
    if rt.settings.registry_url.is_none() {
        return;
    }
    let every = Duration::from_secs(rt.settings.refresh_secs.clamp(5, 86_400));
    loop {
        let wait = match rt.refresh(state.store()).await {
            Ok(Fetched::Newer(d)) => {
                tracing::info!(serial = d.serial, "node registry fetched");
                every
            }
            Ok(Fetched::Unchanged) => {
                tracing::debug!("node registry unchanged");
                every
            }
            Err(e) => {
                tracing::warn!(error = %e, "node registry fetch failed; the copy in hand serves");
                // With no copy in hand the node cannot exchange at all: try again soon.
                if rt.registry().is_none() { Duration::from_secs(5).min(every) } else { every }
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub after: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/exchange/log?after=SEQ&limit=N` (admins): message log entries
/// after `after`, oldest first, each with its exact header and signature line
/// (they verify with OpenSSL alone, docs/exchange.md), and whether the chain
/// holds so far is `yiwang exchange-log verify`'s to say.
pub async fn log_page(
    State(state): State<AppState>,
    auth: crate::auth::Auth,
    axum::extract::Query(q): axum::extract::Query<LogQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let p = auth.require()?;
    if !p.is_admin() {
        return Err(ApiError::new(&yiwang_identity::IdentityError::Forbidden("node administrators read the message log".into())));
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(crate::WebError::BadParam { name: "after", detail: "must not be negative".into() }.into());
    }
    let limit = crate::bounds::page_size("limit", q.limit, 100, 1000)?;
    let entries = state.store().exchange_log_page(after, limit).await?;
    Ok(axum::Json(serde_json::json!({ "entries": entries })))
}

/// `GET /api/v1/exchange/peers` (admins, data officers): this node, the
/// registry in hand (serial, validity) and the nodes and members it lists.
pub async fn peers(State(state): State<AppState>, auth: crate::auth::Auth) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let _ = auth.require()?;
    let Some(rt) = state.exchange() else {
        return Ok(axum::Json(serde_json::json!({ "node": null, "member": null, "registry": null })));
    };
    let registry = rt.registry().map(|r| {
        let d = &r.directory;
        let validity = d.validity(jiff::Timestamp::now()).code();
        serde_json::json!({
            "serial": d.serial, "validity": validity, "issued_at": d.issued_at, "soft_expires_at": d.soft_expires_at,
            "hard_expires_at": d.hard_expires_at, "nodes": d.nodes, "members": d.members, "revoked": d.revoked,
        })
    });
    Ok(axum::Json(serde_json::json!({ "node": rt.node(), "member": rt.member(), "registry": registry })))
}

struct NodeRow {
    id: String,
    tier: &'static str,
    parent: String,
    endpoints: String,
    keys: usize,
}

struct RegistryView {
    serial: u64,
    validity: &'static str,
    issued_at: String,
    hard_expires_at: String,
    nodes: Vec<NodeRow>,
}

struct LogRow {
    seq: i64,
    direction: &'static str,
    peer: String,
    msg_id: String,
    logged_at: String,
}

#[derive(askama::Template)]
#[template(path = "console_exchange.html")]
struct ConsolePage {
    l: crate::pages::Layout,
    node: Option<String>,
    registry: Option<RegistryView>,
    entries: Vec<LogRow>,
    /// Events waiting in the outbox, and since when.
    pending: i64,
    oldest_pending: Option<String>,
    /// Records queued for the parent node.
    upward_queue: i64,
    /// The latest events: (message id, target, service, state, attempts, last error).
    outbox: Vec<(String, String, String, &'static str, i64, String)>,
    /// 汇聚统计: (source node, record type, records, latest).
    aggregates: Vec<(String, String, i64, String)>,
    /// The last log head this node sent its parent (seq, hash).
    anchored: Option<(i64, String)>,
    /// The heads children sent here, newest first.
    anchors: Vec<yiwang_store::HeldAnchor>,
}

/// `GET /console/exchange` (admins): this node, the registry in hand and the
/// latest 100 entries of the message log, newest first.
pub async fn console(State(state): State<AppState>, auth: crate::auth::Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !p.is_admin() {
        return Err(ApiError::new(&yiwang_identity::IdentityError::Forbidden("node administrators read the message log".into())));
    }
    let rt = state.exchange();
    let registry = rt.and_then(|rt| rt.registry()).map(|r| {
        let d = &r.directory;
        RegistryView {
            serial: d.serial,
            validity: match d.validity(jiff::Timestamp::now()) {
                Validity::Fresh => "有效",
                Validity::Stale => "已过更新期，仍可使用",
                Validity::Expired => "已失效",
            },
            issued_at: d.issued_at.to_string(),
            hard_expires_at: d.hard_expires_at.to_string(),
            nodes: d
                .nodes
                .iter()
                .map(|n| NodeRow {
                    id: n.id.to_string(),
                    tier: match n.tier {
                        yiwang_exchange::Tier::National => "国家级",
                        yiwang_exchange::Tier::Provincial => "省级",
                        yiwang_exchange::Tier::Municipal => "市级",
                        yiwang_exchange::Tier::County => "县级",
                    },
                    parent: n.parent.as_ref().map(ToString::to_string).unwrap_or_default(),
                    endpoints: n.endpoints.join(" "),
                    keys: n.keys.len(),
                })
                .collect(),
        }
    });
    let head = state.store().exchange_log_head_seq().await?;
    let mut entries: Vec<LogRow> = state
        .store()
        .exchange_log_page((head - 100).max(0), 100)
        .await?
        .into_iter()
        .map(|e| LogRow {
            seq: e.seq,
            direction: if e.record.direction == Direction::In { "收" } else { "发" },
            peer: e.record.peer,
            msg_id: e.record.msg_id,
            logged_at: e.record.logged_at,
        })
        .collect();
    entries.reverse();
    let (pending, oldest_pending) = state.store().exchange_outbox_depth().await?;
    let outbox = state
        .store()
        .exchange_outbox(20)
        .await?
        .into_iter()
        .map(|e| {
            let state_zh = match e.state.as_str() {
                "pending" => "待送达",
                "delivered" => "已送达（已回执）",
                "rejected" => "对方拒收",
                "expired" => "超时未送达",
                _ => "未知",
            };
            (e.msg_id, e.to_node, e.service, state_zh, e.attempts, e.last_error.unwrap_or_default())
        })
        .collect();
    let aggregates = state.store().aggregate_counts().await?.into_iter().map(|c| (c.source_node, c.kind, c.records, c.last_at)).collect();
    let page = ConsolePage {
        l: crate::pages::Layout::new(&state, &auth, "数据交换：节点与报文日志").await,
        node: rt.map(|rt| rt.node().to_string()),
        registry,
        entries,
        pending,
        oldest_pending,
        upward_queue: state.store().upward_queue_len().await?,
        outbox,
        aggregates,
        anchored: state.store().last_anchor_sent().await?,
        anchors: state.store().anchors_held(20).await?,
    };
    Ok(crate::pages::render(StatusCode::OK, &page))
}
