//! The SD-JWT VC export of a license and its issuer's Token Status List.

use super::*;

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
