//! The e-license library (电子证照库): agencies' SM2 seal keys (private halves
//! wrapped under the node master key), issued licenses with their sealed
//! records and status, and the use log (用证留痕). The format of a sealed
//! record is `yiwang_license`'s; see `docs/license-format.md`.

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

/// A license type with its data schema and print template.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseTypeDef {
    pub code: String,
    pub name: String,
    pub agency_uscc: String,
    pub data_schema: DataSchema,
    pub template: PrintTemplate,
}

impl Store {
    pub async fn license_type(&self, code: &str) -> Result<LicenseTypeDef> {
        let r = crate::db::query("SELECT code, name, agency_uscc, data_schema, template FROM license_types WHERE code = $1")
            .bind(code)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("license type {code}")))?;
        let schema: String = r.try_get("data_schema")?;
        let template: String = r.try_get("template")?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("license type {code}: unreadable {what}"));
        Ok(LicenseTypeDef {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            agency_uscc: r.try_get("agency_uscc")?,
            data_schema: serde_json::from_str::<Value>(&schema)
                .ok()
                .and_then(|v| DataSchema::parse(&v).ok())
                .ok_or_else(|| corrupt("data schema"))?,
            template: if template.trim().is_empty() {
                PrintTemplate::default()
            } else {
                serde_json::from_str::<Value>(&template)
                    .ok()
                    .and_then(|v| PrintTemplate::parse(&v).ok())
                    .ok_or_else(|| corrupt("template"))?
            },
        })
    }

    /// Define (or redefine) a license type of `agency`: its code is the
    /// agency's USCC and a 3-digit sequence (domain.md §3.2). Licenses already
    /// issued keep their data; new ones are checked against the new schema.
    pub async fn define_license_type(
        &self,
        code: &str,
        name: &str,
        schema: &Value,
        template: &Value,
        actor: &str,
        now: Timestamp,
    ) -> LResult<LicenseTypeDef> {
        let code = code.trim();
        let (agency, seq) = (code.get(..18).unwrap_or_default(), code.get(18..).unwrap_or_default());
        if yiwang_codes::uscc::Uscc::parse(agency).is_err() || seq.len() != 3 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "code",
                "证照类型代码应为定义机构的统一社会信用代码加3位顺序码",
                "a license type code is the defining agency's USCC followed by 3 digits",
            ));
        }
        if name.trim().is_empty() {
            return Err(invalid("name", "证照类型名称不能为空", "the license type needs a name"));
        }
        if self.agency(agency).await?.is_none() {
            return Err(invalid("code", "定义机构不存在", "the defining agency is not registered"));
        }
        let mut problems = Vec::new();
        let schema = DataSchema::parse(schema).map_err(|p| problems.extend(p)).ok();
        let template = if template.is_null() {
            Some(PrintTemplate::default())
        } else {
            PrintTemplate::parse(template).map_err(|p| problems.extend(p)).ok()
        };
        let (Some(schema), Some(template)) = (schema, template) else {
            return Err(LicenseStoreError::Fields(problems));
        };
        for f in &template.fields {
            if !schema.properties.is_empty() && !schema.properties.contains_key(f) {
                problems.push(FieldProblem {
                    field: format!("template.fields.{f}"),
                    message_zh: format!("打印模板中的字段 {f} 未在数据结构中定义"),
                    message_en: format!("template field {f} is not in the data schema"),
                });
            }
        }
        if !problems.is_empty() {
            return Err(LicenseStoreError::Fields(problems));
        }
        let schema_text = serde_json::to_string(&schema).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let template_text = serde_json::to_string(&template).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        let at = ts(now);
        crate::db::query(
            "INSERT INTO license_types (code, name, agency_uscc, aliases, created_at, data_schema, template) VALUES ($1, $2, $3, '[]', $4, $5, $6) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, data_schema = excluded.data_schema, template = excluded.template",
        )
        .bind(code)
        .bind(name.trim())
        .bind(agency)
        .bind(&at)
        .bind(&schema_text)
        .bind(&template_text)
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        tx.append_audit(audit_rec(&at, actor, "license_type.defined", "license_type", code, json!({ "name": name.trim() }))).await?;
        tx.commit().await?;
        Ok(self.license_type(code).await?)
    }
}

/// A license type's aliases, cleaned and checked: at most 20, each 1 to 50
/// characters (blank ones dropped).
pub fn license_type_aliases(aliases: &[String]) -> LResult<Vec<String>> {
    let aliases: Vec<String> = aliases.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    if aliases.len() > 20 || aliases.iter().any(|a| a.chars().count() > 50) {
        return Err(invalid("aliases", "别名至多20个，每个不超过50字", "at most 20 aliases of at most 50 characters"));
    }
    Ok(aliases)
}

impl Store {
    /// Set the other names materials are matched by for a license type (the
    /// once-only analyzer's 三个凡是 check), audited.
    pub async fn set_license_type_aliases(&self, code: &str, aliases: &[String], actor: &str, now: Timestamp) -> LResult<()> {
        let aliases = license_type_aliases(aliases)?;
        let text = serde_json::to_string(&aliases).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        let n = crate::db::query("UPDATE license_types SET aliases = $1 WHERE code = $2")
            .bind(&text)
            .bind(code.trim())
            .execute(&mut tx)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("license type {code}")).into());
        }
        let at = ts(now);
        tx.append_audit(audit_rec(&at, actor, "license_type.aliases_set", "license_type", code.trim(), json!({ "aliases": aliases })))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Where this node publishes an agency's SD-JWT VC material, under the node's
/// public base URL.
pub fn vc_issuer_url(base: &str, agency: &str) -> String {
    format!("{}/agencies/{agency}", base.trim_end_matches('/'))
}

pub fn status_list_url(base: &str, agency: &str) -> String {
    format!("{}/api/v1/licenses/status-lists/{agency}", base.trim_end_matches('/'))
}

fn china_midnight(date: &str) -> Option<i64> {
    let d: Date = date.parse().ok()?;
    Some(d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).ok()?.timestamp().as_second())
}

fn status_entry(status: LicenseStatus) -> u8 {
    match status {
        LicenseStatus::Valid => yiwang_license::sdjwt::STATUS_VALID,
        LicenseStatus::Suspended => yiwang_license::sdjwt::STATUS_SUSPENDED,
        LicenseStatus::Revoked | LicenseStatus::Superseded => yiwang_license::sdjwt::STATUS_INVALID,
    }
}

/// The claims of a license's SD-JWT VC that its holder chooses to disclose
/// or not; `data` is disclosable member by member (`data.<key>`).
pub fn vc_selective_claims(license: &StoredLicense) -> serde_json::Map<String, Value> {
    let record = &license.sealed.record;
    let mut selective = serde_json::Map::new();
    selective.insert("license_id".into(), json!(license.id));
    selective.insert("number".into(), json!(license.number));
    selective.insert("version".into(), json!(license.version));
    selective.insert("holder_name".into(), json!(license.holder.name));
    selective.insert("holder_id_type".into(), json!(license.holder.id_type));
    selective.insert("holder_id".into(), json!(license.holder.id));
    selective.insert("issued_on".into(), record["issued_on"].clone());
    selective.insert("valid_from".into(), json!(license.valid_from));
    if let Some(until) = &license.valid_until {
        selective.insert("valid_until".into(), json!(until));
    }
    if record["data"].as_object().is_some_and(|d| !d.is_empty()) {
        selective.insert("data".into(), record["data"].clone());
    }
    selective
}

impl Store {
    /// A license as an SD-JWT VC with every claim disclosable, signed with the
    /// issuer's Ed25519 key. The type and issuer are always shown; the holder,
    /// number, identifier, dates and each `data` member are disclosures.
    pub async fn license_vc(&self, id: &str, master: &MasterKey, base: &str, now: Timestamp) -> LResult<String> {
        let license = self.license(id).await?;
        let status_idx = license
            .status_idx
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("license {id} has no status-list index")))?;
        let mut tx = self.begin().await?;
        let (kid, key) = tx.current_vc_key(&license.issuer_uscc, master, now).await?;
        tx.commit().await?;
        let record = &license.sealed.record;
        let mut visible = serde_json::Map::new();
        visible.insert("type_code".into(), json!(license.type_code));
        visible.insert("name".into(), record["name"].clone());
        visible.insert("issuer".into(), record["issuer"].clone());
        let selective = vc_selective_claims(&license);
        let claims = yiwang_license::sdjwt::VcClaims {
            iss: vc_issuer_url(base, &license.issuer_uscc),
            vct: format!("urn:yiwang:license-type:{}", license.type_code),
            iat: now.as_second(),
            nbf: china_midnight(&license.valid_from),
            // Valid through the last day, China time.
            exp: license.valid_until.as_deref().and_then(china_midnight).map(|t| t + 86_400),
            visible,
            selective,
            status: Some(yiwang_license::sdjwt::StatusRef { idx: status_idx, uri: status_list_url(base, &license.issuer_uscc) }),
        };
        Ok(yiwang_license::sdjwt::issue(&claims, &key, &kid)?)
    }

    /// The issuer's Token Status List, signed now: each license's current
    /// status at its index (valid 0, revoked or superseded 1, suspended 2).
    pub async fn license_status_list(&self, issuer: &str, master: &MasterKey, base: &str, now: Timestamp) -> LResult<String> {
        if self.agency(issuer).await?.is_none() {
            return Err(StoreError::NotFound(format!("agency {issuer}")).into());
        }
        let rows = crate::db::query("SELECT status_idx, status FROM licenses WHERE issuer_uscc = $1 AND status_idx IS NOT NULL")
            .bind(issuer)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            let idx: i64 = r.try_get("status_idx").map_err(StoreError::from)?;
            let status = LicenseStatus::parse(&r.try_get::<String, _>("status").map_err(StoreError::from)?)?;
            entries.push((u64::try_from(idx).unwrap_or_default(), status_entry(status)));
        }
        let mut tx = self.begin().await?;
        let (kid, key) = tx.current_vc_key(issuer, master, now).await?;
        tx.commit().await?;
        Ok(yiwang_license::sdjwt::status_list_token(&status_list_url(base, issuer), now.as_second(), 300, &entries, &key, &kid)?)
    }
}

/// One use of a license by an agency (用证留痕), as its holder sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseUse {
    pub license_id: String,
    pub agency_uscc: String,
    pub agency_name: Option<String>,
    /// 事由
    pub reason: String,
    pub case_no: Option<String>,
    pub at: String,
    /// `fetch` (the license itself) or `query` (listed in a query by holder).
    pub kind: String,
}

impl Store {
    /// An agency fetches a license for a stated use. The use is logged for the
    /// holder and audited in the same transaction as the read, so no read goes
    /// unrecorded.
    pub async fn use_license(
        &self,
        id: &str,
        agency_uscc: &str,
        actor: &str,
        reason: &str,
        case_no: Option<&str>,
        now: Timestamp,
    ) -> LResult<StoredLicense> {
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(invalid("reason", "用证须说明事由", "a reason (事由) is required to use a license"));
        }
        let mut tx = self.begin().await?;
        let row = crate::db::query(safe(format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut tx)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| StoreError::NotFound(format!("license {id}")))?;
        let license = stored_license(&row)?;
        let at = ts(now);
        crate::db::query(
            "INSERT INTO license_uses (id, license_id, agency_uscc, actor, reason, case_no, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(crate::accounts::ordered_id("use"))
        .bind(id)
        .bind(agency_uscc)
        .bind(actor)
        .bind(reason)
        .bind(case_no)
        .bind(&at)
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        let mut record = audit_rec(&at, actor, "license.used", "license", id, json!({ "agency": agency_uscc, "case_no": case_no }));
        record.reason = reason.to_string();
        tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(license)
    }

    /// An agency lists a holder's current licenses for a stated use. Each
    /// license listed gets a `query` entry in its use log, in the same
    /// transaction as the read.
    pub async fn query_licenses_of(
        &self,
        (holder_id_type, holder_id): (&str, &str),
        agency_uscc: &str,
        actor: &str,
        reason: &str,
        case_no: Option<&str>,
        now: Timestamp,
    ) -> LResult<Vec<StoredLicense>> {
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(invalid("reason", "查询证照须说明事由", "a reason (事由) is required to query licenses"));
        }
        if holder_id.trim().is_empty() || holder_id_type.trim().is_empty() {
            return Err(invalid("holder_id", "须提供持证主体代码及类型", "holder_id and holder_id_type are required"));
        }
        let mut tx = self.begin().await?;
        let rows = crate::db::query(safe(format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE holder_id_type = $1 AND holder_id = $2 AND status <> 'superseded' \
             ORDER BY issued_at DESC, id"
        )))
        .bind(holder_id_type.trim())
        .bind(holder_id.trim())
        .fetch_all(&mut tx)
        .await
        .map_err(StoreError::from)?;
        let found = rows.iter().map(stored_license).collect::<Result<Vec<_>>>()?;
        let at = ts(now);
        for l in &found {
            crate::db::query(
                "INSERT INTO license_uses (id, license_id, agency_uscc, actor, reason, case_no, at, kind) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'query')",
            )
            .bind(crate::accounts::ordered_id("use"))
            .bind(&l.id)
            .bind(agency_uscc)
            .bind(actor)
            .bind(reason)
            .bind(case_no)
            .bind(&at)
            .execute(&mut tx)
            .await
            .map_err(StoreError::from)?;
        }
        // The audit names the holder by a digest, not the identifier itself.
        let holder_ref = hex::encode(&yiwang_crypto::sm3(format!("{holder_id_type}:{holder_id}").as_bytes())[..8]);
        let mut record = audit_rec(
            &at,
            actor,
            "license.queried",
            "license_holder",
            &holder_ref,
            json!({ "agency": agency_uscc, "case_no": case_no, "found": found.len() }),
        );
        record.reason = reason.to_string();
        tx.append_audit(record).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Every use of a license, newest first.
    pub async fn license_uses(&self, id: &str) -> Result<Vec<LicenseUse>> {
        let rows = crate::db::query(
            "SELECT u.license_id, u.agency_uscc, a.name AS agency_name, u.reason, u.case_no, u.at, u.kind FROM license_uses u \
             LEFT JOIN agencies a ON a.uscc = u.agency_uscc WHERE u.license_id = $1 ORDER BY u.at DESC, u.id",
        )
        .bind(id)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LicenseUse {
                    license_id: r.try_get("license_id")?,
                    agency_uscc: r.try_get("agency_uscc")?,
                    agency_name: r.try_get("agency_name")?,
                    reason: r.try_get("reason")?,
                    case_no: r.try_get("case_no")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect()
    }
}

/// What a verifier presents: a sealed license (the downloaded JSON) or the
/// token from its QR code.
#[derive(Debug, Clone)]
pub enum Presented {
    Sealed(SealedLicense),
    Token(String),
}

impl Store {
    /// Check a presented license: the seal against the signer's published key,
    /// a token against the registry's record, then the current status.
    /// Database failures are errors; everything about the license is in the verdict.
    pub async fn verify_license(&self, presented: Presented, today: Date) -> Result<Verdict> {
        let (sealed, claims) = match presented {
            Presented::Sealed(s) => (s, None),
            Presented::Token(token) => {
                let claims = match yiwang_license::read_token(&token) {
                    Ok((c, _, _)) => c,
                    Err(e) => return Ok(Verdict::failed(None, None, &e)),
                };
                let key = match self.seal_key(&claims.key_id).await {
                    Ok(k) => k,
                    Err(StoreError::NotFound(_)) => {
                        return Ok(Verdict::failed(Some(claims.id), None, &LicenseError::UnknownKey(claims.key_id)));
                    }
                    Err(e) => return Err(e),
                };
                if let Err(e) = yiwang_license::verify_token(&token, &key.public_key) {
                    return Ok(Verdict::failed(Some(claims.id), None, &e));
                }
                match self.license(&claims.id).await {
                    Ok(l) => (l.sealed, Some(claims)),
                    Err(StoreError::NotFound(what)) => return Ok(Verdict::failed(Some(claims.id), None, &StoreError::NotFound(what))),
                    Err(e) => return Err(e),
                }
            }
        };
        let id = sealed.record.get("id").and_then(Value::as_str).map(str::to_string);
        let key = match self.seal_key(&sealed.seal.key_id).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(Verdict::failed(id, None, &LicenseError::UnknownKey(sealed.seal.key_id.clone()))),
            Err(e) => return Err(e),
        };
        let checked = if key.agency_uscc != sealed.seal.signer {
            Err(LicenseError::BadSeal)
        } else {
            yiwang_license::verify_sealed(&sealed, &key.public_key)
        };
        if let Err(e) = checked {
            return Ok(Verdict::failed(id, None, &e));
        }
        if let Some(c) = &claims
            && yiwang_license::record_digest(&sealed.record).ok().as_deref() != Some(c.digest.as_str())
        {
            return Ok(Verdict::failed(id, None, &LicenseError::TokenMismatch));
        }
        let seal = SealVerdict { valid: true, key_id: key.key_id, signer: key.agency_uscc, alg: sealed.seal.alg.clone() };
        let verdict = Verdict::genuine(&sealed, seal);
        let Some(id) = id else { return Ok(verdict) };
        let verdict = match self.license(&id).await {
            Ok(stored) => {
                let expired = stored.expired_on(today);
                verdict.registered(stored.status.code(), expired, stored.status_reason, stored.status_at)
            }
            Err(StoreError::NotFound(_)) => verdict,
            Err(e) => return Err(e),
        };
        Ok(verdict)
    }
}

/// A 加注件: a time-limited copy of a license the holder shares for a stated use.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseShare {
    pub id: String,
    pub license_id: String,
    /// 用途, printed across the copy.
    pub purpose: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub views: i64,
    /// The holder chose to show identifiers (ID numbers) in full.
    pub reveal_ids: bool,
}

impl LicenseShare {
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_str() > ts(now).as_str()
    }
}

/// What a share link opens to.
#[derive(Debug, Clone)]
pub enum SharedCopy {
    Open {
        share: LicenseShare,
        license: Box<StoredLicense>,
    },
    /// Past its time, or withdrawn by the holder.
    Closed {
        share: LicenseShare,
    },
    Unknown,
}

/// The longest a share may run.
pub const MAX_SHARE_DAYS: i64 = 30;

const SHARE_COLUMNS: &str = "id, license_id, purpose, created_at, expires_at, revoked_at, views, reveal_ids";

fn license_share(r: &crate::db::Row) -> Result<LicenseShare> {
    Ok(LicenseShare {
        id: r.try_get("id")?,
        license_id: r.try_get("license_id")?,
        purpose: r.try_get("purpose")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        views: r.try_get("views")?,
        reveal_ids: r.try_get::<i64, _>("reveal_ids")? != 0,
    })
}

impl Store {
    /// Share a license for `purpose` for `days` (1 to 30). Returns the share
    /// and its link token, which is not stored (only its hash) and so is shown once.
    pub async fn share_license(
        &self,
        license_id: &str,
        purpose: &str,
        days: i64,
        reveal_ids: bool,
        actor: &str,
        now: Timestamp,
    ) -> LResult<(LicenseShare, String)> {
        let purpose = purpose.trim();
        if purpose.chars().count() < 2 || purpose.chars().count() > 60 {
            return Err(invalid("purpose", "请写明用途（2至60字）", "state the use (2 to 60 characters)"));
        }
        if !(1..=MAX_SHARE_DAYS).contains(&days) {
            return Err(invalid("days", format!("有效天数应为1至{MAX_SHARE_DAYS}天"), format!("days must be 1 to {MAX_SHARE_DAYS}")));
        }
        let license = self.license(license_id).await?;
        if license.status != LicenseStatus::Valid {
            return Err(invalid("license", "只有有效的证照可以分享", "only a valid license can be shared"));
        }
        let token = yiwang_identity::new_token();
        let id = new_id("share");
        let at = ts(now);
        let expires = ts(now.checked_add(jiff::SignedDuration::from_hours(24 * days)).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        let mut tx = self.begin().await?;
        crate::db::query(
            "INSERT INTO license_shares (id, license_id, token_hash, purpose, created_by, created_at, expires_at, reveal_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(license_id)
        .bind(yiwang_identity::token_hash(&token))
        .bind(purpose)
        .bind(actor)
        .bind(&at)
        .bind(&expires)
        .bind(i64::from(reveal_ids))
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        tx.append_audit(audit_rec(
            &at,
            actor,
            "license.shared",
            "license",
            license_id,
            json!({ "share": id, "purpose": purpose, "days": days }),
        ))
        .await?;
        tx.commit().await?;
        let share = LicenseShare {
            id,
            license_id: license_id.to_string(),
            purpose: purpose.to_string(),
            created_at: at,
            expires_at: expires,
            revoked_at: None,
            views: 0,
            reveal_ids,
        };
        Ok((share, token))
    }

    /// A license's shares, newest first.
    pub async fn license_shares(&self, license_id: &str) -> Result<Vec<LicenseShare>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {SHARE_COLUMNS} FROM license_shares WHERE license_id = $1 ORDER BY created_at DESC, id"
        )))
        .bind(license_id)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(license_share).collect()
    }

    /// Withdraw a share before its time.
    pub async fn revoke_license_share(&self, license_id: &str, share_id: &str, actor: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = ts(now);
        let done = crate::db::query("UPDATE license_shares SET revoked_at = $1 WHERE id = $2 AND license_id = $3 AND revoked_at IS NULL")
            .bind(&at)
            .bind(share_id)
            .bind(license_id)
            .execute(&mut tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("share {share_id}")));
        }
        tx.append_audit(audit_rec(&at, actor, "license.share_revoked", "license", license_id, json!({ "share": share_id }))).await?;
        tx.commit().await
    }

    /// Open a share link: counts the view while the share is open.
    pub async fn open_license_share(&self, token: &str, now: Timestamp) -> Result<SharedCopy> {
        let row = crate::db::query(safe(format!("SELECT {SHARE_COLUMNS} FROM license_shares WHERE token_hash = $1")))
            .bind(yiwang_identity::token_hash(token.trim()))
            .fetch_optional(self.read())
            .await?;
        let Some(row) = row else { return Ok(SharedCopy::Unknown) };
        let mut share = license_share(&row)?;
        let license = self.license(&share.license_id).await?;
        // A license no longer valid closes its shares too.
        if !share.active_at(now) || license.status != LicenseStatus::Valid {
            return Ok(SharedCopy::Closed { share });
        }
        crate::db::query("UPDATE license_shares SET views = views + 1 WHERE id = $1").bind(&share.id).execute(self.write()).await?;
        share.views += 1;
        Ok(SharedCopy::Open { share, license: Box::new(license) })
    }
}

/// A material of an item that an e-license type satisfies (免提交), with the
/// applicant's license of that type if they hold a valid one: what an
/// application attaches by reference instead of an upload.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseMaterial {
    pub material: String,
    pub license_type: String,
    pub license: Option<StoredLicense>,
}

impl Store {
    /// For a published item, each material satisfied by a license type, with
    /// the holder's current valid (not expired) license of that type.
    pub async fn license_materials(&self, item_code: &str, holder: (&str, &str), today: Date) -> Result<Vec<LicenseMaterial>> {
        let item = self.published_item(item_code).await?.ok_or_else(|| StoreError::NotFound(format!("item {item_code}")))?;
        self.license_materials_of(&item.doc, holder, today).await
    }

    /// As `license_materials`, for an item already read.
    pub(crate) async fn license_materials_of(
        &self,
        doc: &yiwang_catalog::ItemDoc,
        (id_type, holder_id): (&str, &str),
        today: Date,
    ) -> Result<Vec<LicenseMaterial>> {
        if !doc.materials.iter().any(|m| matches!(m.source, yiwang_catalog::MaterialSource::License { .. })) {
            return Ok(Vec::new());
        }
        let held = self.licenses_of(id_type, holder_id).await?;
        Ok(doc
            .materials
            .iter()
            .filter_map(|m| match &m.source {
                yiwang_catalog::MaterialSource::License { license_type } => Some(LicenseMaterial {
                    material: m.name.clone(),
                    license_type: license_type.clone(),
                    license: held
                        .iter()
                        .filter(|l| &l.type_code == license_type && l.status == LicenseStatus::Valid && !l.expired_on(today))
                        .max_by(|a, b| a.issued_at.cmp(&b.issued_at))
                        .cloned(),
                }),
                _ => None,
            })
            .collect())
    }
}
