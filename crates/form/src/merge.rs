//! One form for several items (一件事一次办): the union of their schemas, each
//! shared field asked once. A field two items both ask must be defined the
//! same way in both; otherwise the bundle cannot be offered as one form.

use serde_json::Value;

use crate::Schema;

impl Schema {
    /// The union of `parts`: every field once (the first part's order first),
    /// required if any part requires it. `Err` names the fields defined
    /// differently by two parts. A part with no fields (`{}`) accepts any
    /// object, so the union does too.
    pub fn merged(title: &str, parts: &[&Schema]) -> Result<Schema, Vec<String>> {
        let mut out =
            Schema { kind: Some("object".into()), title: Some(title.into()), additional_properties: Some(false), ..Schema::default() };
        let mut conflicts = Vec::new();
        for part in parts {
            if part.properties.is_empty() {
                out.additional_properties = None;
            }
            for key in part.ordered_keys() {
                let Some(p) = part.properties.get(key) else { continue };
                match out.properties.get(key) {
                    Some(seen) if seen != p => {
                        if !conflicts.iter().any(|c| c == key) {
                            conflicts.push(key.to_string());
                        }
                    }
                    Some(_) => {}
                    None => {
                        out.properties.insert(key.to_string(), p.clone());
                        out.order.push(key.to_string());
                    }
                }
            }
            for r in &part.required {
                if !out.required.contains(r) {
                    out.required.push(r.clone());
                }
            }
        }
        if conflicts.is_empty() { Ok(out) } else { Err(conflicts) }
    }

    /// The part of `data` this schema asks for: its own fields, or all of an
    /// object when the schema has none (it accepts any object).
    pub fn project(&self, data: &Value) -> Value {
        let Value::Object(obj) = data else { return Value::Object(Default::default()) };
        if self.properties.is_empty() {
            return data.clone();
        }
        Value::Object(obj.iter().filter(|(k, _)| self.properties.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Schema;

    fn schema(v: serde_json::Value) -> Schema {
        Schema::parse(&v).unwrap_or_else(|p| panic!("{p:?}"))
    }

    #[test]
    fn shared_fields_are_asked_once_and_required_if_any_part_requires_them() {
        let a = schema(json!({
            "type": "object", "additionalProperties": false,
            "properties": { "name": { "type": "string", "title": "名称" }, "phone": { "type": "string", "format": "phone" } },
            "required": ["name"], "x-order": ["name", "phone"],
        }));
        let b = schema(json!({
            "type": "object", "additionalProperties": false,
            "properties": { "phone": { "type": "string", "format": "phone" }, "staff": { "type": "integer", "minimum": 1 } },
            "required": ["phone", "staff"], "x-order": ["staff", "phone"],
        }));
        let m = Schema::merged("开办餐饮店", &[&a, &b]).unwrap_or_else(|c| panic!("{c:?}"));
        assert_eq!(m.ordered_keys(), ["name", "phone", "staff"]);
        assert_eq!(m.required, ["name", "phone", "staff"]);
        assert_eq!(m.additional_properties, Some(false));
        let data = json!({ "name": "一网餐饮", "phone": "13800000000", "staff": 3 });
        assert_eq!(b.project(&data), json!({ "phone": "13800000000", "staff": 3 }));
        assert_eq!(a.project(&data), json!({ "name": "一网餐饮", "phone": "13800000000" }));
    }

    #[test]
    fn a_field_defined_two_ways_is_a_conflict() {
        let a = schema(json!({ "type": "object", "properties": { "staff": { "type": "integer" } } }));
        let b = schema(json!({ "type": "object", "properties": { "staff": { "type": "string" } } }));
        assert_eq!(Schema::merged("x", &[&a, &b]), Err(vec!["staff".to_string()]));
    }

    #[test]
    fn an_open_part_keeps_the_union_open_and_projects_everything() {
        let open = Schema::default();
        let a = schema(json!({ "type": "object", "properties": { "name": { "type": "string" } } }));
        let m = Schema::merged("x", &[&a, &open]).unwrap_or_else(|c| panic!("{c:?}"));
        assert_eq!(m.additional_properties, None);
        assert_eq!(open.project(&json!({ "k": 1 })), json!({ "k": 1 }));
    }
}
