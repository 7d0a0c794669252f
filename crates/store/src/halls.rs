//! Halls (政务服务大厅) and their comprehensive windows (一窗受理). A hall is run
//! by one agency and serves several; a window clerk of the running agency acts
//! as a window clerk of every agency in the hall (see `Store::staff_roles`), so
//! every check by agency (`has_role_in`) covers the hall without more code,
//! and a clerk sees only the agencies of their own halls.

use crate::db::RowLike;
use serde::Serialize;

use crate::{Result, Store, StoreError, Tx, ts};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hall {
    pub id: String,
    pub name: String,
    pub division_code: String,
    /// The agency that runs the hall.
    pub agency_uscc: String,
    pub address: String,
    /// The agencies whose items the hall's windows accept.
    pub agencies: Vec<String>,
}

impl Store {
    /// Every hall, by id.
    pub async fn halls(&self) -> Result<Vec<Hall>> {
        let rows =
            crate::db::query("SELECT id, name, division_code, agency_uscc, address FROM halls ORDER BY id").fetch_all(self.read()).await?;
        let members =
            crate::db::query("SELECT hall_id, agency_uscc FROM hall_agencies ORDER BY hall_id, agency_uscc").fetch_all(self.read()).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let agencies = members
                    .iter()
                    .filter(|m| m.try_get::<String, _>("hall_id").is_ok_and(|h| h == id))
                    .map(|m| m.try_get::<String, _>("agency_uscc"))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(Hall {
                    name: r.try_get("name")?,
                    division_code: r.try_get("division_code")?,
                    agency_uscc: r.try_get("agency_uscc")?,
                    address: r.try_get("address")?,
                    agencies,
                    id,
                })
            })
            .collect()
    }

    /// The halls run by any of `agencies` (a clerk's halls).
    pub async fn halls_run_by(&self, agencies: &[&str]) -> Result<Vec<Hall>> {
        Ok(self.halls().await?.into_iter().filter(|h| agencies.contains(&h.agency_uscc.as_str())).collect())
    }
}

impl Tx {
    /// Create or replace a hall and its member agencies (audited).
    pub async fn upsert_hall(&mut self, hall: &Hall, actor: &str, now: jiff::Timestamp) -> Result<()> {
        if hall.id.trim().is_empty() || hall.name.trim().is_empty() {
            return Err(StoreError::Conflict("a hall needs an id and a name".into()));
        }
        // Unchanged: nothing to write or audit (the demo re-seeds at every start).
        let row = crate::db::query("SELECT name, division_code, agency_uscc, address FROM halls WHERE id = $1")
            .bind(&hall.id)
            .fetch_optional(&mut *self)
            .await?;
        if let Some(r) = row {
            let members: Vec<String> = crate::db::query("SELECT agency_uscc FROM hall_agencies WHERE hall_id = $1 ORDER BY agency_uscc")
                .bind(&hall.id)
                .fetch_all(&mut *self)
                .await?
                .iter()
                .map(|m| m.try_get("agency_uscc"))
                .collect::<std::result::Result<_, _>>()?;
            let mut wanted = hall.agencies.clone();
            wanted.sort();
            let same = r.try_get::<String, _>("name")? == hall.name
                && r.try_get::<String, _>("division_code")? == hall.division_code
                && r.try_get::<String, _>("agency_uscc")? == hall.agency_uscc
                && r.try_get::<String, _>("address")? == hall.address
                && members == wanted;
            if same {
                return Ok(());
            }
        }
        crate::db::query(
            "INSERT INTO halls (id, name, division_code, agency_uscc, address, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, division_code = excluded.division_code, \
             agency_uscc = excluded.agency_uscc, address = excluded.address",
        )
        .bind(&hall.id)
        .bind(&hall.name)
        .bind(&hall.division_code)
        .bind(&hall.agency_uscc)
        .bind(&hall.address)
        .bind(ts(now))
        .execute(&mut *self)
        .await?;
        crate::db::query("DELETE FROM hall_agencies WHERE hall_id = $1").bind(&hall.id).execute(&mut *self).await?;
        for a in &hall.agencies {
            crate::db::query("INSERT INTO hall_agencies (hall_id, agency_uscc) VALUES ($1, $2)")
                .bind(&hall.id)
                .bind(a)
                .execute(&mut *self)
                .await?;
        }
        let data = serde_json::json!({ "name": hall.name, "agency": hall.agency_uscc, "agencies": hall.agencies });
        self.append_audit(crate::accounts::audit_rec(&ts(now), actor, "hall.upsert", "hall", &hall.id, data)).await?;
        Ok(())
    }
}
