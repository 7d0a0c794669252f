//! The e-license library (电子证照库): agencies' SM2 seal keys (private halves
//! wrapped under the node master key), issued licenses with their sealed
//! records and status, and the use log (用证留痕). The format of a sealed
//! record is `yiwang_license`'s; see `docs/license-format.md`.

mod materials;
mod shares;
mod types;
mod uses;
mod vc;
mod verify;

pub use materials::LicenseMaterial;
pub use shares::{LicenseShare, MAX_SHARE_DAYS, SharedCopy};
pub use types::{LicenseTypeDef, license_type_aliases};
pub use uses::LicenseUse;
pub use vc::{status_list_url, vc_issuer_url, vc_selective_claims};
pub use verify::Presented;

use crate::db::RowLike;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use yiwang_codes::license::LicenseId;
use yiwang_crypto::ed25519::VcKey;
use yiwang_crypto::seal::{MasterKey, SealError, SealKey};
use yiwang_license::schema::{DataSchema, FieldProblem, PrintTemplate};
use yiwang_license::verdict::{SealVerdict, Verdict, status_zh};
use yiwang_license::{LicenseError, SealedLicense, seal_record};

use crate::accounts::{audit_rec, new_id};
use crate::{Result, Store, StoreError, Tx, safe, ts};
use zeroize::Zeroizing;

/// Why a license operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LicenseStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    License(#[from] LicenseError),
    #[error("seal key: {0}")]
    Seal(#[from] SealError),
    #[error("invalid {field}: {message_en}")]
    Invalid { field: &'static str, message_zh: String, message_en: String },
    /// The license data, a data schema or a template does not conform; every problem is listed.
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.field, p.message_en)).collect::<Vec<_>>().join("; "))]
    Fields(Vec<FieldProblem>),
}

fn invalid(field: &'static str, zh: impl Into<String>, en: impl Into<String>) -> LicenseStoreError {
    LicenseStoreError::Invalid { field, message_zh: zh.into(), message_en: en.into() }
}

impl yiwang_errors::Coded for LicenseStoreError {
    fn code(&self) -> &'static str {
        match self {
            LicenseStoreError::Store(e) => e.code(),
            LicenseStoreError::License(e) => e.code(),
            // A key that will not unwrap means the node's master key is wrong: our fault.
            LicenseStoreError::Seal(_) => "license.seal_key",
            LicenseStoreError::Invalid { .. } => "license.invalid",
            LicenseStoreError::Fields(_) => "license.data_invalid",
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        match self {
            LicenseStoreError::Store(e) => e.kind(),
            LicenseStoreError::License(e) => e.kind(),
            LicenseStoreError::Seal(_) => yiwang_errors::ErrorKind::Internal,
            LicenseStoreError::Invalid { .. } | LicenseStoreError::Fields(_) => yiwang_errors::ErrorKind::Unprocessable,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            LicenseStoreError::Store(e) => e.message_zh(),
            LicenseStoreError::License(e) => e.message_zh(),
            LicenseStoreError::Seal(_) => "签章密钥不可用（节点主密钥有误）".into(),
            LicenseStoreError::Invalid { message_zh, .. } => message_zh.clone(),
            LicenseStoreError::Fields(p) => p.iter().map(|p| p.message_zh.as_str()).collect::<Vec<_>>().join("；"),
        }
    }
}

type LResult<T> = std::result::Result<T, LicenseStoreError>;

/// A seal key as published (`GET /api/v1/seals`): never the private half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedSealKey {
    pub key_id: String,
    pub agency_uscc: String,
    /// Uncompressed SEC1 point in hex (`04 || x || y`).
    pub public_key: String,
    pub created_at: String,
    /// Set when rotated out; it still verifies what it sealed.
    pub retired_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub name: String,
    /// 持证主体代码类型 (GA/T 2000.156: 111 居民身份证, 049 统一社会信用代码 …).
    pub id_type: String,
    pub id: String,
}

/// What an issuer supplies for a new license (or a new version of one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewLicense {
    pub type_code: String,
    /// 证照编号 as printed on the license.
    pub number: String,
    pub issuer_uscc: String,
    pub holder: Holder,
    pub valid_from: Date,
    pub valid_until: Option<Date>,
    #[serde(default)]
    pub case_no: Option<String>,
    /// Type-specific fields (ASCII keys, integer numbers).
    #[serde(default)]
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    Valid,
    Suspended,
    Revoked,
    Superseded,
}

impl LicenseStatus {
    pub fn code(self) -> &'static str {
        match self {
            LicenseStatus::Valid => "valid",
            LicenseStatus::Suspended => "suspended",
            LicenseStatus::Revoked => "revoked",
            LicenseStatus::Superseded => "superseded",
        }
    }

    /// The status as the public verdict and the wallet word it.
    pub fn name_zh(self) -> &'static str {
        status_zh(self.code())
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "valid" => LicenseStatus::Valid,
            "suspended" => LicenseStatus::Suspended,
            "revoked" => LicenseStatus::Revoked,
            "superseded" => LicenseStatus::Superseded,
            other => return Err(StoreError::Corrupt(format!("license status {other:?}"))),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredLicense {
    pub id: String,
    pub type_code: String,
    pub number: String,
    pub version: i64,
    pub previous_id: Option<String>,
    pub issuer_uscc: String,
    pub holder: Holder,
    pub status: LicenseStatus,
    pub status_reason: Option<String>,
    pub status_at: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub sealed: SealedLicense,
    pub key_id: String,
    pub case_no: Option<String>,
    pub issued_at: String,
    /// The license's entry in its issuer's status list (SD-JWT VC export).
    pub status_idx: Option<i64>,
    /// A random reference for the holder's URLs, which never show the id
    /// (it carries the license number, for an ID card the ID number).
    pub public_ref: Option<String>,
}

impl StoredLicense {
    /// Expired: valid until a day before `today` (China time).
    pub fn expired_on(&self, today: Date) -> bool {
        self.valid_until.as_deref().and_then(|d| d.parse::<Date>().ok()).is_some_and(|until| until < today)
    }
}

const LICENSE_COLUMNS: &str = "id, type_code, number, version, previous_id, issuer_uscc, holder_id_type, holder_id, holder_name, \
     status, status_reason, status_at, valid_from, valid_until, sealed, key_id, case_no, issued_at, status_idx, public_ref";

fn stored_license(r: &crate::db::Row) -> Result<StoredLicense> {
    let sealed: String = r.try_get("sealed")?;
    Ok(StoredLicense {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        number: r.try_get("number")?,
        version: r.try_get("version")?,
        previous_id: r.try_get("previous_id")?,
        issuer_uscc: r.try_get("issuer_uscc")?,
        holder: Holder { name: r.try_get("holder_name")?, id_type: r.try_get("holder_id_type")?, id: r.try_get("holder_id")? },
        status: LicenseStatus::parse(&r.try_get::<String, _>("status")?)?,
        status_reason: r.try_get("status_reason")?,
        status_at: r.try_get("status_at")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        sealed: serde_json::from_str(&sealed).map_err(|e| StoreError::Corrupt(format!("sealed license: {e}")))?,
        key_id: r.try_get("key_id")?,
        case_no: r.try_get("case_no")?,
        issued_at: r.try_get("issued_at")?,
        status_idx: r.try_get("status_idx")?,
        public_ref: r.try_get("public_ref")?,
    })
}

/// A new random public reference (128 bits, URL-safe).
pub(crate) fn new_public_ref() -> String {
    format!("lic_{}", &yiwang_identity::new_token()[..22])
}

fn published_key(r: &crate::db::Row) -> Result<PublishedSealKey> {
    Ok(PublishedSealKey {
        key_id: r.try_get("key_id")?,
        agency_uscc: r.try_get("agency_uscc")?,
        public_key: r.try_get("public_key")?,
        created_at: r.try_get("created_at")?,
        retired_at: r.try_get("retired_at")?,
    })
}

/// The identifier's number segment: the license number if it is already
/// uppercase alphanumerics, else 16 hex digits of its SM3 (GB/T 36904 allows a
/// derived sequence; numbers such as 吉A0420… carry Chinese characters).
pub fn identifier_number(number: &str) -> String {
    let n = number.trim();
    if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        n.to_string()
    } else {
        hex::encode_upper(&yiwang_crypto::sm3(n.as_bytes())[..8])
    }
}

/// The SM2 seal algorithm's name in `seal_keys.alg`.
const SM2: &str = "SM2";
/// Ed25519, for the SD-JWT VC export only.
const ED25519: &str = "Ed25519";

impl Tx {
    /// Store a new key of `alg` for the agency, its private half wrapped.
    async fn insert_key(&mut self, agency: &str, alg: &str, master: &MasterKey, now: Timestamp) -> Result<(String, Zeroizing<Vec<u8>>)> {
        let (prefix, public, secret) = if alg == ED25519 {
            let key = VcKey::generate();
            ("vc", key.public_key_hex(), key.secret_bytes())
        } else {
            let key = SealKey::generate();
            ("seal", key.public_key_hex(), key.secret_bytes())
        };
        let key_id = new_id(prefix);
        let at = ts(now);
        crate::db::query(
            "INSERT INTO seal_keys (key_id, agency_uscc, public_key, wrapped_private, master_fingerprint, created_at, alg)              VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key_id)
        .bind(agency)
        .bind(public)
        .bind(master.wrap(&key_id, &secret))
        .bind(master.fingerprint())
        .bind(&at)
        .bind(alg)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(&at, "system", "seal.key_created", "seal_key", &key_id, json!({ "agency": agency, "alg": alg })))
            .await?;
        Ok((key_id, secret))
    }

    /// The agency's current key of `alg` (its id and secret), created on first use.
    async fn current_key(&mut self, agency: &str, alg: &str, master: &MasterKey, now: Timestamp) -> LResult<(String, Zeroizing<Vec<u8>>)> {
        let row = crate::db::query(
            "SELECT key_id, wrapped_private FROM seal_keys WHERE agency_uscc = $1 AND alg = $2 AND retired_at IS NULL              ORDER BY created_at DESC LIMIT 1",
        )
        .bind(agency)
        .bind(alg)
        .fetch_optional(&mut *self)
        .await
        .map_err(StoreError::from)?;
        match row {
            Some(r) => {
                let key_id: String = r.try_get("key_id").map_err(StoreError::from)?;
                let wrapped: String = r.try_get("wrapped_private").map_err(StoreError::from)?;
                let secret = master.unwrap(&key_id, &wrapped)?;
                Ok((key_id, secret))
            }
            None => Ok(self.insert_key(agency, alg, master, now).await?),
        }
    }

    /// The issuer's next status-list index. The counter row's lock serialises
    /// concurrent issues by one issuer instead of failing one of them.
    async fn next_status_idx(&mut self, issuer: &str) -> Result<i64> {
        crate::db::query("INSERT INTO license_status_lists (issuer_uscc, next_idx) VALUES ($1, 0) ON CONFLICT (issuer_uscc) DO NOTHING")
            .bind(issuer)
            .execute(&mut *self)
            .await?;
        let row = crate::db::query("UPDATE license_status_lists SET next_idx = next_idx + 1 WHERE issuer_uscc = $1 RETURNING next_idx")
            .bind(issuer)
            .fetch_one(&mut *self)
            .await?;
        Ok(row.try_get::<i64, _>("next_idx")? - 1)
    }

    /// The agency's current SM2 seal key, created on first use.
    async fn current_seal_key(&mut self, agency: &str, master: &MasterKey, now: Timestamp) -> LResult<(String, SealKey)> {
        let (key_id, secret) = self.current_key(agency, SM2, master, now).await?;
        Ok((key_id, SealKey::from_secret_bytes(&secret)?))
    }

    /// The agency's current Ed25519 key for SD-JWT VCs, created on first use.
    async fn current_vc_key(&mut self, agency: &str, master: &MasterKey, now: Timestamp) -> LResult<(String, VcKey)> {
        let (key_id, secret) = self.current_key(agency, ED25519, master, now).await?;
        Ok((key_id, VcKey::from_secret_bytes(&secret)?))
    }
}

impl Store {
    /// Every seal key, current and retired, for publication.
    pub async fn seal_keys(&self) -> Result<Vec<PublishedSealKey>> {
        let rows =
            crate::db::query("SELECT key_id, agency_uscc, public_key, created_at, retired_at FROM seal_keys WHERE alg = 'SM2' ORDER BY agency_uscc, created_at")
                .fetch_all(self.read())
                .await?;
        rows.iter().map(published_key).collect()
    }

    pub async fn seal_key(&self, key_id: &str) -> Result<PublishedSealKey> {
        let row = crate::db::query(
            "SELECT key_id, agency_uscc, public_key, created_at, retired_at FROM seal_keys WHERE key_id = $1 AND alg = 'SM2'",
        )
        .bind(key_id)
        .fetch_optional(self.read())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("seal key {key_id}")))?;
        published_key(&row)
    }

    /// An agency's Ed25519 keys (current and retired) for its JWKS.
    pub async fn vc_keys(&self, agency: &str) -> Result<Vec<PublishedSealKey>> {
        if self.agency(agency).await?.is_none() {
            return Err(StoreError::NotFound(format!("agency {agency}")));
        }
        let rows = crate::db::query(
            "SELECT key_id, agency_uscc, public_key, created_at, retired_at FROM seal_keys WHERE alg = 'Ed25519' AND agency_uscc = $1              ORDER BY created_at",
        )
        .bind(agency)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(published_key).collect()
    }

    /// Retire the agency's current keys (seal and SD-JWT) and make a new seal
    /// key. What the old keys signed still verifies with them.
    pub async fn rotate_seal_key(&self, agency: &str, master: &MasterKey, actor: &str, now: Timestamp) -> Result<PublishedSealKey> {
        let mut tx = self.begin().await?;
        let at = ts(now);
        crate::db::query("UPDATE seal_keys SET retired_at = $1 WHERE agency_uscc = $2 AND retired_at IS NULL")
            .bind(&at)
            .bind(agency)
            .execute(&mut tx)
            .await?;
        let (key_id, _) = tx.insert_key(agency, SM2, master, now).await?;
        tx.append_audit(audit_rec(&at, actor, "seal.key_rotated", "seal_key", &key_id, json!({ "agency": agency }))).await?;
        tx.commit().await?;
        self.seal_key(&key_id).await
    }

    /// Issue a license, sealed with the issuer's current key. If the same
    /// (type, issuer, number) already has a valid version, this is the next
    /// version and the previous one becomes `superseded`.
    pub async fn issue_license(&self, new: &NewLicense, master: &MasterKey, actor: &str, now: Timestamp) -> LResult<StoredLicense> {
        let prepared = self.prepare_license(new, now).await?;
        let mut tx = self.begin().await?;
        let id = tx.issue_prepared_license(&prepared, master, actor, now).await?;
        tx.commit().await?;
        Ok(self.license(&id).await?)
    }

    /// Everything issuing needs before its transaction: the holder, number and
    /// dates checked, the data checked against the type's schema, the issuer's name.
    pub async fn prepare_license(&self, new: &NewLicense, now: Timestamp) -> LResult<PreparedLicense> {
        if new.holder.name.trim().is_empty() || new.holder.id.trim().is_empty() || new.holder.id_type.trim().is_empty() {
            return Err(invalid("holder", "持证主体名称、代码和代码类型不能为空", "holder name, id and id type are required"));
        }
        if new.number.trim().is_empty() {
            return Err(invalid("number", "证照编号不能为空", "the license number is required"));
        }
        if new.valid_until.is_some_and(|u| u < new.valid_from) {
            return Err(invalid("valid_until", "有效期截止早于起始日期", "valid_until is before valid_from"));
        }
        let license_type = match self.license_type(&new.type_code).await {
            Ok(t) => t,
            Err(StoreError::NotFound(_)) => {
                return Err(invalid(
                    "type_code",
                    format!("证照类型 {} 不存在", new.type_code),
                    format!("no license type {}", new.type_code),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let problems = license_type.data_schema.check(&new.data, yiwang_calendar::china_today(now));
        if !problems.is_empty() {
            return Err(LicenseStoreError::Fields(problems));
        }
        let issuer_name: String = crate::db::query("SELECT name FROM agencies WHERE uscc = $1")
            .bind(&new.issuer_uscc)
            .fetch_optional(self.read())
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| invalid("issuer_uscc", "颁发机构不存在", "no such issuing agency"))?
            .try_get("name")
            .map_err(StoreError::from)?;

        Ok(PreparedLicense { new: new.clone(), type_name: license_type.name, issuer_name })
    }
}

/// A license checked and ready to issue in a transaction (`Store::prepare_license`).
#[derive(Debug, Clone)]
pub struct PreparedLicense {
    pub new: NewLicense,
    type_name: String,
    issuer_name: String,
}

impl Tx {
    /// Issue a prepared license in this transaction (the seal, the status
    /// index, the row and its audit entry); its id.
    pub async fn issue_prepared_license(
        &mut self,
        p: &PreparedLicense,
        master: &MasterKey,
        actor: &str,
        now: Timestamp,
    ) -> LResult<String> {
        let previous = crate::db::query(safe(format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE type_code = $1 AND issuer_uscc = $2 AND number = $3 ORDER BY version DESC LIMIT 1"
        )))
        .bind(&p.new.type_code)
        .bind(&p.new.issuer_uscc)
        .bind(p.new.number.trim())
        .fetch_optional(&mut *self)
        .await
        .map_err(StoreError::from)?
        .map(|r| stored_license(&r))
        .transpose()?;
        let version = previous.as_ref().map_or(1, |p| p.version + 1);
        let version_u16 = u16::try_from(version).map_err(|_| invalid("number", "版本号超过999", "more than 999 versions"))?;
        let id = LicenseId::compose(&p.new.type_code, &p.new.issuer_uscc, &identifier_number(&p.new.number), version_u16).map_err(|e| {
            invalid("type_code", format!("不能生成电子证照标识：{e}"), format!("cannot compose the license identifier: {e}"))
        })?;
        let record = json!({
            "id": id.as_str(),
            "type_code": p.new.type_code,
            "name": p.type_name,
            "number": p.new.number.trim(),
            "version": version,
            "previous_id": previous.as_ref().map(|p| p.id.clone()),
            "issuer": { "uscc": p.new.issuer_uscc, "name": p.issuer_name },
            "holder": p.new.holder,
            "issued_on": now.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date().to_string(),
            "valid_from": p.new.valid_from.to_string(),
            "valid_until": p.new.valid_until.map(|d| d.to_string()),
            "case_no": p.new.case_no,
            "data": if p.new.data.is_null() { json!({}) } else { p.new.data.clone() },
        });
        let (key_id, key) = self.current_seal_key(&p.new.issuer_uscc, master, now).await?;
        let sealed = seal_record(record, &key, &key_id, &p.new.issuer_uscc)?;
        let status_idx = self.next_status_idx(&p.new.issuer_uscc).await?;
        let at = ts(now);
        if let Some(p) = &previous {
            crate::db::query(
                "UPDATE licenses SET status = 'superseded', status_reason = $1, status_at = $2 WHERE id = $3 AND status <> 'revoked'",
            )
            .bind(format!("新版本 / new version {}", id.as_str()))
            .bind(&at)
            .bind(&p.id)
            .execute(&mut *self)
            .await
            .map_err(StoreError::from)?;
        }
        crate::db::query(
            "INSERT INTO licenses (id, type_code, number, version, previous_id, issuer_uscc, holder_id_type, holder_id, holder_name, status, status_at, \
             valid_from, valid_until, sealed, key_id, case_no, issued_at, status_idx, public_ref) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'valid', $10, $11, $12, $13, $14, $15, $10, $16, $17)",
        )
        .bind(id.as_str())
        .bind(&p.new.type_code)
        .bind(p.new.number.trim())
        .bind(version)
        .bind(previous.as_ref().map(|p| p.id.clone()))
        .bind(&p.new.issuer_uscc)
        .bind(&p.new.holder.id_type)
        .bind(&p.new.holder.id)
        .bind(&p.new.holder.name)
        .bind(&at)
        .bind(p.new.valid_from.to_string())
        .bind(p.new.valid_until.map(|d| d.to_string()))
        .bind(serde_json::to_string(&sealed).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(&key_id)
        .bind(&p.new.case_no)
        .bind(status_idx)
        .bind(new_public_ref())
        .execute(&mut *self)
        .await
        .map_err(|e| match e.as_database_error() {
            // Another issue of the same number took this version first (PostgreSQL
            // sees it only at insert time): the caller may retry.
            Some(d) if d.is_unique_violation() => {
                StoreError::Conflict(format!("license {} version {version} was issued concurrently; retry", p.new.number.trim()))
            }
            _ => StoreError::from(e),
        })?;
        self.append_audit(audit_rec(&at, actor, "license.issued", "license", id.as_str(), json!({ "version": version, "key_id": key_id })))
            .await?;
        Ok(id.as_str().to_string())
    }
}

impl Store {
    /// The signed QR token of a license (`YL1.…`), sealed with the key that
    /// sealed the license, retired or not.
    pub async fn license_token(&self, id: &str, master: &MasterKey) -> LResult<String> {
        let license = self.license(id).await?;
        let wrapped: String = crate::db::query("SELECT wrapped_private FROM seal_keys WHERE key_id = $1")
            .bind(&license.key_id)
            .fetch_one(self.read())
            .await
            .map_err(StoreError::from)?
            .try_get("wrapped_private")
            .map_err(StoreError::from)?;
        let key = SealKey::from_secret_bytes(&master.unwrap(&license.key_id, &wrapped)?)?;
        let claims = yiwang_license::TokenClaims {
            id: license.id.clone(),
            digest: yiwang_license::record_digest(&license.sealed.record)?,
            key_id: license.key_id.clone(),
            signer: license.issuer_uscc.clone(),
        };
        Ok(yiwang_license::make_token(&claims, &key)?)
    }

    /// A license by the public reference its holder's URLs use.
    pub async fn license_by_ref(&self, public_ref: &str) -> Result<StoredLicense> {
        let row = crate::db::query(safe(format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE public_ref = $1")))
            .bind(public_ref)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound("license".into()))?;
        stored_license(&row)
    }

    pub async fn license(&self, id: &str) -> Result<StoredLicense> {
        let row = crate::db::query(safe(format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("license {id}")))?;
        stored_license(&row)
    }

    /// The license of `type_code` issued for a case, if any (its newest version).
    pub async fn license_for_case(&self, type_code: &str, case_no: &str) -> Result<Option<StoredLicense>> {
        let row = crate::db::query(safe(format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE type_code = $1 AND case_no = $2 ORDER BY version DESC LIMIT 1"
        )))
        .bind(type_code)
        .bind(case_no)
        .fetch_optional(self.read())
        .await?;
        row.as_ref().map(stored_license).transpose()
    }

    /// The licenses a case issued (办结出证), newest first.
    pub async fn licenses_of_case(&self, case_no: &str) -> Result<Vec<StoredLicense>> {
        let rows = crate::db::query(safe(format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE case_no = $1 ORDER BY issued_at DESC, id")))
            .bind(case_no)
            .fetch_all(self.read())
            .await?;
        rows.iter().map(stored_license).collect()
    }

    /// A holder's licenses, newest first (superseded versions included).
    pub async fn licenses_of(&self, id_type: &str, holder_id: &str) -> Result<Vec<StoredLicense>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE holder_id_type = $1 AND holder_id = $2 ORDER BY issued_at DESC, id"
        )))
        .bind(id_type)
        .bind(holder_id)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(stored_license).collect()
    }

    /// Suspend, resume (back to valid) or revoke. Revoked is final.
    pub async fn set_license_status(
        &self,
        id: &str,
        to: LicenseStatus,
        reason: &str,
        actor: &str,
        now: Timestamp,
    ) -> LResult<StoredLicense> {
        if reason.trim().is_empty() {
            return Err(invalid("reason", "须说明理由", "a reason is required"));
        }
        let from: &[&str] = match to {
            LicenseStatus::Suspended => &["valid"],
            LicenseStatus::Valid => &["suspended"],
            LicenseStatus::Revoked => &["valid", "suspended"],
            LicenseStatus::Superseded => {
                return Err(invalid("status", "新版本签发时自动失效", "superseded is set by issuing a new version"));
            }
        };
        let mut tx = self.begin().await?;
        let at = ts(now);
        let done = crate::db::query(safe(format!(
            "UPDATE licenses SET status = $1, status_reason = $2, status_at = $3 WHERE id = $4 AND status IN ({})",
            from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
        )))
        .bind(to.code())
        .bind(reason.trim())
        .bind(&at)
        .bind(id)
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        if done.rows_affected() != 1 {
            drop(tx);
            let current = self.license(id).await?;
            return Err(StoreError::Conflict(format!("license {id} is {}, cannot become {}", current.status.code(), to.code())).into());
        }
        tx.append_audit(audit_rec(&at, actor, "license.status", "license", id, json!({ "status": to.code(), "reason": reason.trim() })))
            .await?;
        tx.commit().await?;
        Ok(self.license(id).await?)
    }
}
