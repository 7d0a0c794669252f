//! An operator's setup of halls and data resources: the pure checks of
//! `yiwang_catalog::setup`, then the agencies must be registered on the node,
//! then the upsert (audited when something changed). The CLI, the API and the
//! console all call these.

use jiff::Timestamp;
use yiwang_catalog::FieldError;
use yiwang_catalog::setup::{HallInput, ResourceInput, check_hall, check_resource};

use crate::{EvidenceType, Hall, Result, Store};

impl Store {
    async fn unregistered(&self, field: &str, uscc: &str, out: &mut Vec<FieldError>) -> Result<()> {
        if self.agency(uscc).await?.is_none() {
            out.push(FieldError::new(
                field,
                "unknown",
                format!("部门 {uscc} 未登记，请先在本节点登记该部门（yiwang agency add）"),
                format!("agency {uscc} is not registered on this node"),
            ));
        }
        Ok(())
    }

    /// Register (or update) a hall: `Ok(Err(problems))` when the input is refused.
    pub async fn register_hall(&self, h: &HallInput, actor: &str, now: Timestamp) -> Result<std::result::Result<Hall, Vec<FieldError>>> {
        let (mut problems, agencies) = check_hall(h);
        if problems.is_empty() {
            for (i, a) in agencies.iter().enumerate() {
                let field = if i == 0 { "agency_uscc".to_string() } else { format!("serves[{}]", i - 1) };
                self.unregistered(&field, a, &mut problems).await?;
            }
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let hall = Hall {
            id: h.id.trim().into(),
            name: h.name.trim().into(),
            division_code: h.division_code.trim().into(),
            agency_uscc: agencies[0].clone(),
            address: h.address.trim().into(),
            agencies,
        };
        let mut tx = self.begin().await?;
        tx.upsert_hall(&hall, actor, now).await?;
        tx.commit().await?;
        Ok(Ok(hall))
    }

    /// Register (or update) a data resource: `Ok(Err(problems))` when refused.
    pub async fn register_data_resource(
        &self,
        r: &ResourceInput,
        actor: &str,
        now: Timestamp,
    ) -> Result<std::result::Result<EvidenceType, Vec<FieldError>>> {
        let mut problems = check_resource(r);
        let provider = r.provider_uscc.trim().to_uppercase();
        if problems.is_empty() {
            self.unregistered("provider_uscc", &provider, &mut problems).await?;
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let t = EvidenceType {
            code: r.code.trim().into(),
            name: r.name.trim().into(),
            agency_uscc: provider,
            aliases: r.aliases.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect(),
        };
        let mut tx = self.begin().await?;
        tx.upsert_data_resource(&t, actor, now).await?;
        if let Some(sharing) = &r.sharing {
            tx.describe_resource_sharing(&t.code, sharing, actor, now).await?;
        }
        tx.commit().await?;
        Ok(Ok(t))
    }
}
