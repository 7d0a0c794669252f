use yiwang_errors::{Coded, ErrorKind};

/// Why a received envelope is refused. Each has a stable code (`gx.*`) that the
/// receiver answers with; none says more than the sender needs (an unknown key
/// and a bad signature are told apart, which grants exist is never told).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("the envelope is not valid base64url, or larger than {max} bytes")]
    Encoding { max: usize },
    #[error("the signature line is not `sm2-sm3;kid=…;sig=…`")]
    SignatureLine,
    #[error("no trusted key has id {kid}")]
    UnknownKey { kid: String },
    #[error("the signature does not verify over the envelope's bytes")]
    BadSignature,
    #[error("the header is not a gx/1 header: {reason}")]
    BadHeader { reason: String },
    #[error("the key {kid} does not belong to the sender named in the header")]
    SignerMismatch { kid: String },
    #[error("the body does not match the digest or length in the header")]
    BodyDigest,
    #[error("created_at is {seconds} s away from the receiver's clock (at most {max} s allowed)")]
    ClockSkew { seconds: i64, max: i64 },
    #[error("the message expired at {at}")]
    Expired { at: String },
    #[error("expires_at is more than {max} s after created_at")]
    TooLong { max: i64 },
    #[error("msg_id is not a UUIDv7 matching created_at")]
    MessageId,
    #[error("message {msg_id} was already received with different content")]
    IdConflict { msg_id: String },
    #[error("the registry is not signed by a key of the anchor")]
    RegistrySignature,
    #[error("the registry is not valid: {reason}")]
    RegistryInvalid { reason: String },
    #[error("the registry's serial {offered} is older than the copy in hand ({cached})")]
    RegistryRollback { cached: u64, offered: u64 },
    #[error("the registry expired at {at}; no traffic until a newer one arrives")]
    RegistryOutdated { at: String },
    #[error("not a node id (CN/NODE/<division code>): {0}")]
    NodeId(String),
    #[error("not a member or subsystem id (CN/<GOV|PUB|ENT>/<USCC>[/<subsystem>]): {0}")]
    ClientId(String),
    #[error("not a service id (<subsystem>/<code>/v<n>): {0}")]
    ServiceId(String),
    #[error("node {node} is not in the registry, or is not this node")]
    UnknownNode { node: String },
    #[error("no service {service} on this node")]
    UnknownService { service: String },
    #[error("access denied")]
    AccessDenied,
    #[error("the body is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("this node holds no node registry yet")]
    NoRegistry,
    #[error("this node takes no part in the exchange (no [exchange] settings)")]
    NotConfigured,
    #[error("the registry lists none of this node's signing keys for {member}")]
    NoSigningKey { member: String },
    #[error("no endpoint of node {node} answered")]
    Unreachable { node: String },
    #[error("the reply from {node} does not hold: {reason}")]
    BadReply { node: String, reason: String },
    #[error("the provider failed: {reason}")]
    Provider { reason: String },
    #[error("the request body does not fit the service: {reason}")]
    BadBody { reason: String },
    #[error("node {node}'s log head at {seq} differs from the one anchored before: its history was rewritten")]
    AnchorConflict { node: String, seq: i64 },
}

impl Coded for ExchangeError {
    fn code(&self) -> &'static str {
        match self {
            ExchangeError::Encoding { .. } => "gx.encoding",
            ExchangeError::SignatureLine => "gx.signature_line",
            ExchangeError::UnknownKey { .. } => "gx.unknown_key",
            ExchangeError::BadSignature => "gx.bad_signature",
            ExchangeError::BadHeader { .. } => "gx.bad_header",
            ExchangeError::SignerMismatch { .. } => "gx.signer_mismatch",
            ExchangeError::BodyDigest => "gx.body_digest",
            ExchangeError::ClockSkew { .. } => "gx.clock_skew",
            ExchangeError::Expired { .. } => "gx.expired",
            ExchangeError::TooLong { .. } => "gx.ttl",
            ExchangeError::MessageId => "gx.msg_id",
            ExchangeError::IdConflict { .. } => "gx.id_conflict",
            ExchangeError::AnchorConflict { .. } => "gx.anchor_conflict",
            ExchangeError::RegistrySignature => "gx.registry_signature",
            ExchangeError::RegistryInvalid { .. } => "gx.registry_invalid",
            ExchangeError::RegistryRollback { .. } => "gx.registry_rollback",
            ExchangeError::RegistryOutdated { .. } => "gx.registry_outdated",
            ExchangeError::NodeId(_) => "gx.node_id",
            ExchangeError::ClientId(_) => "gx.client_id",
            ExchangeError::ServiceId(_) => "gx.service_id",
            ExchangeError::UnknownNode { .. } => "gx.unknown_node",
            ExchangeError::UnknownService { .. } => "gx.unknown_service",
            ExchangeError::AccessDenied => "gx.access_denied",
            ExchangeError::TooLarge { .. } => "gx.too_large",
            ExchangeError::NoRegistry => "gx.no_registry",
            ExchangeError::NotConfigured => "gx.not_configured",
            ExchangeError::NoSigningKey { .. } => "gx.no_signing_key",
            ExchangeError::Unreachable { .. } => "gx.node_unreachable",
            ExchangeError::BadReply { .. } => "gx.bad_reply",
            ExchangeError::Provider { .. } => "gx.provider",
            ExchangeError::BadBody { .. } => "gx.bad_body",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            ExchangeError::UnknownKey { .. } | ExchangeError::BadSignature | ExchangeError::SignerMismatch { .. } => {
                ErrorKind::Unauthenticated
            }
            ExchangeError::IdConflict { .. } | ExchangeError::RegistryRollback { .. } | ExchangeError::AnchorConflict { .. } => {
                ErrorKind::Conflict
            }
            ExchangeError::RegistryOutdated { .. }
            | ExchangeError::NoRegistry
            | ExchangeError::NotConfigured
            | ExchangeError::NoSigningKey { .. } => ErrorKind::Unavailable,
            ExchangeError::UnknownNode { .. } | ExchangeError::UnknownService { .. } => ErrorKind::NotFound,
            ExchangeError::AccessDenied => ErrorKind::Forbidden,
            ExchangeError::TooLarge { .. } => ErrorKind::PayloadTooLarge,
            ExchangeError::Unreachable { .. } | ExchangeError::BadReply { .. } | ExchangeError::Provider { .. } => ErrorKind::BadGateway,
            ExchangeError::Expired { .. } => ErrorKind::Gone,
            _ => ErrorKind::BadRequest,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ExchangeError::Encoding { max } => format!("报文信封不是有效的 base64url 编码，或超过 {max} 字节"),
            ExchangeError::SignatureLine => "签名行格式应为 sm2-sm3;kid=…;sig=…".into(),
            ExchangeError::UnknownKey { kid } => format!("没有受信任的密钥 {kid}"),
            ExchangeError::BadSignature => "SM2 签名与信封内容不符".into(),
            ExchangeError::BadHeader { reason } => format!("报文头不符合 gx/1 格式：{reason}"),
            ExchangeError::SignerMismatch { kid } => format!("密钥 {kid} 不属于报文头所列的发送方"),
            ExchangeError::BodyDigest => "报文体与报文头中的摘要或长度不符".into(),
            ExchangeError::ClockSkew { seconds, max } => format!("发送时间与本节点时钟相差 {seconds} 秒（最多允许 {max} 秒）"),
            ExchangeError::Expired { at } => format!("报文已于 {at} 过期"),
            ExchangeError::TooLong { max } => format!("有效期超过发送时间后 {max} 秒"),
            ExchangeError::MessageId => "报文标识不是与发送时间一致的 UUIDv7".into(),
            ExchangeError::IdConflict { msg_id } => format!("报文 {msg_id} 已以不同内容收到过"),
            ExchangeError::AnchorConflict { node, seq } => format!("节点 {node} 第 {seq} 条日志的锚定值与此前不符，其日志可能被改写"),
            ExchangeError::RegistrySignature => "节点注册表不是由信任锚中的密钥签名的".into(),
            ExchangeError::RegistryInvalid { reason } => format!("节点注册表无效：{reason}"),
            ExchangeError::RegistryRollback { cached, offered } => {
                format!("节点注册表序号 {offered} 早于本节点已有的 {cached}，拒绝回退")
            }
            ExchangeError::RegistryOutdated { at } => format!("节点注册表已于 {at} 失效，在取得新版本前暂停交换"),
            ExchangeError::NodeId(s) => format!("不是节点标识（CN/NODE/行政区划代码）：{s}"),
            ExchangeError::ClientId(s) => format!("不是成员或子系统标识（CN/GOV|PUB|ENT/统一社会信用代码[/子系统]）：{s}"),
            ExchangeError::ServiceId(s) => format!("不是服务标识（子系统/服务代码/v版本）：{s}"),
            ExchangeError::UnknownNode { node } => format!("节点 {node} 不在注册表中，或不是本节点"),
            ExchangeError::UnknownService { service } => format!("本节点没有服务 {service}"),
            ExchangeError::AccessDenied => "无权访问".into(),
            ExchangeError::TooLarge { max } => format!("报文体超过 {max} 字节"),
            ExchangeError::NoRegistry => "本节点尚未取得节点注册表".into(),
            ExchangeError::NotConfigured => "本节点未参与数据交换（未配置 [exchange]）".into(),
            ExchangeError::NoSigningKey { member } => format!("注册表中没有 {member} 在本节点的签名密钥"),
            ExchangeError::Unreachable { node } => format!("节点 {node} 的所有地址均无响应"),
            ExchangeError::BadReply { node, reason } => format!("节点 {node} 的应答不成立：{reason}"),
            ExchangeError::Provider { reason } => format!("服务提供方出错：{reason}"),
            ExchangeError::BadBody { reason } => format!("请求内容不符合该服务：{reason}"),
        }
    }
}
