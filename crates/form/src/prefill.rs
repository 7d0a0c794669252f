//! Prefill bindings (`x-prefill`): where a field's value comes from, so the
//! applicant never retypes what the government already holds.
//!
//! | binding | value |
//! |---|---|
//! | `applicant.name`, `applicant.id`, `applicant.id_type` | who applies (the person, or the enterprise they act for) |
//! | `profile.name`, `profile.phone`, `profile.email` | the account's profile |
//! | `person.<field>` | population base data (人口库): `name`, `citizen_id`, `birth_date`, `address_division` |
//! | `enterprise.<field>` | legal-entity base data (法人库): `name`, `uscc`, `legal_rep_name`, `legal_rep_id`, `registration_status` |
//! | `license.<type code>.<field>` | a valid e-license of that type the applicant holds: a `data` field, or `holder_name`, `license_no`, `issuer_name`, `valid_until` |
//! | `previous.<field>` | the same applicant's last application for the same item |
//!
//! The caller (the store) gathers the values into `Sources`; `fill` applies
//! them. A bound field with a value is locked (the submitted value is
//! replaced by the held one) unless the schema marks it `x-editable`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::schema::{Schema, is_blank};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Binding {
    Applicant(String),
    Profile(String),
    Person(String),
    Enterprise(String),
    License { license_type: String, field: String },
    Previous(String),
}

const APPLICANT: [&str; 3] = ["name", "id", "id_type"];
const PROFILE: [&str; 3] = ["name", "phone", "email"];
const PERSON: [&str; 4] = ["name", "citizen_id", "birth_date", "address_division"];
const ENTERPRISE: [&str; 5] = ["name", "uscc", "legal_rep_name", "legal_rep_id", "registration_status"];

fn field_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Binding {
    /// Parse a binding as written in `x-prefill`; the error says why not.
    pub fn parse(s: &str) -> Result<Binding, &'static str> {
        let (source, rest) = s.trim().split_once('.').ok_or("应为 来源.字段 / expected source.field")?;
        let pick = |allowed: &[&str], f: fn(String) -> Binding| {
            if allowed.contains(&rest) { Ok(f(rest.to_string())) } else { Err("该来源没有此字段 / no such field in this source") }
        };
        match source {
            "applicant" => pick(&APPLICANT, Binding::Applicant),
            "profile" => pick(&PROFILE, Binding::Profile),
            "person" => pick(&PERSON, Binding::Person),
            "enterprise" => pick(&ENTERPRISE, Binding::Enterprise),
            "license" => {
                let (license_type, field) =
                    rest.split_once('.').ok_or("应为 license.证照类型代码.字段 / expected license.<type>.<field>")?;
                if license_type.is_empty() || !license_type.chars().all(|c| c.is_ascii_alphanumeric()) || !field_name(field) {
                    return Err("证照类型代码或字段名无效 / bad license type or field");
                }
                Ok(Binding::License { license_type: license_type.into(), field: field.into() })
            }
            "previous" if field_name(rest) => Ok(Binding::Previous(rest.to_string())),
            _ => Err("未知的来源（applicant、profile、person、enterprise、license、previous）/ unknown source"),
        }
    }

    /// The binding as written, the key of its value in `Sources`.
    pub fn path(&self) -> String {
        match self {
            Binding::Applicant(f) => format!("applicant.{f}"),
            Binding::Profile(f) => format!("profile.{f}"),
            Binding::Person(f) => format!("person.{f}"),
            Binding::Enterprise(f) => format!("enterprise.{f}"),
            Binding::License { license_type, field } => format!("license.{license_type}.{field}"),
            Binding::Previous(f) => format!("previous.{f}"),
        }
    }

    /// Where the value comes from, in Chinese, for the form's hint.
    pub fn source_zh(&self) -> &'static str {
        match self {
            Binding::Applicant(_) | Binding::Profile(_) => "来自您的账号",
            Binding::Person(_) => "来自人口基础信息库",
            Binding::Enterprise(_) => "来自法人基础信息库",
            Binding::License { .. } => "来自您的电子证照",
            Binding::Previous(_) => "来自您上次的申请",
        }
    }
}

impl Schema {
    /// Every field's binding, by field key.
    pub fn bindings(&self) -> BTreeMap<&str, Binding> {
        self.properties
            .iter()
            .filter_map(|(k, p)| p.prefill.as_deref().and_then(|b| Binding::parse(b).ok()).map(|b| (k.as_str(), b)))
            .collect()
    }
}

/// The values the bindings point to, by binding path. Missing paths (no
/// base data, no such license) simply leave their fields to the applicant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources(BTreeMap<String, Value>);

impl Sources {
    pub fn insert(&mut self, path: impl Into<String>, value: Value) {
        if !is_blank(&value) {
            self.0.insert(path.into(), value);
        }
    }

    pub fn get(&self, binding: &Binding) -> Option<&Value> {
        self.0.get(&binding.path())
    }
}

/// A form after prefill: the values, and which fields were filled from held
/// data (`prefilled`) and of those which the applicant may not change
/// (`locked`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    pub values: Map<String, Value>,
    pub prefilled: BTreeSet<String>,
    pub locked: BTreeSet<String>,
}

/// Fill `submitted` (an object, or null for a new form) from `sources`: a
/// locked field always takes the held value; an editable bound field keeps
/// what the applicant gave, or takes the held value when they gave nothing.
pub fn fill(schema: &Schema, submitted: &Value, sources: &Sources) -> Filled {
    let mut values = submitted.as_object().cloned().unwrap_or_default();
    let (mut prefilled, mut locked) = (BTreeSet::new(), BTreeSet::new());
    for (key, binding) in schema.bindings() {
        let Some(held) = sources.get(&binding) else { continue };
        let editable = schema.properties.get(key).is_some_and(|p| p.editable);
        let given = values.get(key).filter(|v| !is_blank(v));
        if !editable {
            locked.insert(key.to_string());
        }
        if editable && given.is_some() && given != Some(held) {
            continue;
        }
        values.insert(key.to_string(), held.clone());
        prefilled.insert(key.to_string());
    }
    Filled { values, prefilled, locked }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bindings_parse_and_print_back() {
        for ok in ["person.name", "enterprise.legal_rep_id", "license.11100000000013338W001.scope", "previous.shop_name", "profile.phone"] {
            assert_eq!(Binding::parse(ok).map(|b| b.path()), Ok(ok.to_string()));
        }
        for bad in ["person", "person.shoe_size", "license.x", "license..f", "wallet.x", "previous.a-b"] {
            assert!(Binding::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn held_data_fills_and_locks_the_form() {
        let schema = Schema::parse(&json!({
            "properties": {
                "name": { "type": "string", "x-prefill": "person.name" },
                "phone": { "type": "string", "x-prefill": "profile.phone", "x-editable": true },
                "shop": { "type": "string", "x-prefill": "previous.shop" },
                "scope": { "type": "string" },
            },
        }))
        .unwrap_or_default();
        let mut sources = Sources::default();
        sources.insert("person.name", json!("张三"));
        sources.insert("profile.phone", json!("13800138000"));
        sources.insert("previous.shop", json!(""));
        // A new form: everything held is filled in.
        let f = fill(&schema, &Value::Null, &sources);
        assert_eq!(Value::Object(f.values.clone()), json!({ "name": "张三", "phone": "13800138000" }));
        assert_eq!(f.locked.iter().collect::<Vec<_>>(), ["name"]);
        // The applicant cannot change a locked field, but may change the phone.
        let f = fill(&schema, &json!({ "name": "李四", "phone": "13900139000", "scope": "热食" }), &sources);
        assert_eq!(Value::Object(f.values.clone()), json!({ "name": "张三", "phone": "13900139000", "scope": "热食" }));
        assert_eq!(f.prefilled.iter().collect::<Vec<_>>(), ["name"]);
        // No base data: the field is the applicant's to fill.
        let f = fill(&schema, &json!({ "name": "李四" }), &Sources::default());
        assert_eq!(f.values["name"], json!("李四"));
        assert!(f.locked.is_empty());
    }
}
