//! 免提交: the materials of an item that a license the applicant holds satisfies.

use super::*;

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
