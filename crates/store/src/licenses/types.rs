//! License types: each with its data schema, print template and aliases.

use super::*;

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
