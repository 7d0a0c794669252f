//! Agencies, base data (人口库, 法人库), accounts, enterprises and staff roles.

use crate::db::RowLike;
use rand::Rng;
use serde::Serialize;

use yiwang_audit::AuditRecord;
use yiwang_identity::{Acting, AuthVia, Principal, RealNameLevel, Role, StaffRole};

use crate::{Result, Store, StoreError, Tx, ts};

/// A fresh random identifier with a readable prefix (`acc_…`, `ses_…`).
pub(crate) fn new_id(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::rng().random();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// An id for rows written in bulk and in time order (outbox messages,
/// notices, workflow instances): the milliseconds since the epoch first, then
/// 64 random bits. New rows then land at the end of the primary key's index
/// instead of on a random leaf page each, which every insert would write to
/// the WAL on its own. Not for secrets: its first half is the time.
pub(crate) fn ordered_id(prefix: &str) -> String {
    let millis = u64::try_from(crate::integration::queued_at().as_millisecond()).unwrap_or_default();
    let random: [u8; 8] = rand::rng().random();
    format!("{prefix}_{millis:012x}{}", hex::encode(random))
}

pub(crate) fn audit_rec(at: &str, actor: &str, action: &str, object_type: &str, object_id: &str, data: serde_json::Value) -> AuditRecord {
    AuditRecord {
        at: at.to_string(),
        actor: actor.to_string(),
        action: action.to_string(),
        object_type: object_type.to_string(),
        object_id: object_id.to_string(),
        reason: String::new(),
        data: data.to_string(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Agency {
    pub uscc: String,
    pub name: String,
    pub division_code: String,
    pub level: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BasePerson {
    pub citizen_id: String,
    pub name: String,
    pub birth_date: String,
    pub address_division: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BaseEnterprise {
    pub uscc: String,
    pub name: String,
    pub legal_rep_name: String,
    pub legal_rep_id: String,
    pub registration_status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Registered, phone/email not yet verified.
    Pending,
    Active,
    Disabled,
}

impl AccountStatus {
    fn code(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> Result<AccountStatus> {
        match s {
            "pending" => Ok(AccountStatus::Pending),
            "active" => Ok(AccountStatus::Active),
            "disabled" => Ok(AccountStatus::Disabled),
            other => Err(StoreError::Corrupt(format!("account status {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub subject: String,
    #[serde(skip)]
    pub citizen_id: String,
    pub name: String,
    #[serde(skip)]
    pub phone: Option<String>,
    #[serde(skip)]
    pub email: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub level: RealNameLevel,
    pub level_source: String,
    pub status: AccountStatus,
    pub created_at: String,
}

/// What registration (or an administrator, or a federated login) supplies.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub citizen_id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub level: RealNameLevel,
    pub level_source: String,
    pub status: AccountStatus,
}

/// An enterprise a person may act for.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseRole {
    pub uscc: String,
    pub name: String,
    pub legal_representative: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffMember {
    pub account_id: String,
    pub name: String,
    pub role: Role,
}

fn account_from_row(r: &crate::db::Row) -> Result<Account> {
    let level: i64 = r.try_get("level")?;
    Ok(Account {
        id: r.try_get("id")?,
        subject: r.try_get("subject")?,
        citizen_id: r.try_get("citizen_id")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        level: u8::try_from(level)
            .ok()
            .and_then(RealNameLevel::from_u8)
            .ok_or_else(|| StoreError::Corrupt(format!("account level {level}")))?,
        level_source: r.try_get("level_source")?,
        status: AccountStatus::parse(&r.try_get::<String, _>("status")?)?,
        created_at: r.try_get("created_at")?,
    })
}

fn agency_from_row(r: &crate::db::Row) -> Result<Agency> {
    Ok(Agency {
        uscc: r.try_get("uscc")?,
        name: r.try_get("name")?,
        division_code: r.try_get("division_code")?,
        level: r.try_get("level")?,
    })
}

/// The `role` column, checked against the known roles.
fn role_from_row(r: &crate::db::Row) -> Result<Role> {
    let role: String = r.try_get("role")?;
    role.parse().map_err(|_| StoreError::Corrupt(format!("role {role:?}")))
}

macro_rules! account_query {
    ($where:literal) => {
        concat!("SELECT id, subject, citizen_id, name, phone, email, password_hash, level, level_source, status, created_at FROM accounts WHERE ", $where)
    };
}

impl Store {
    pub async fn agency(&self, uscc: &str) -> Result<Option<Agency>> {
        let row = crate::db::query("SELECT uscc, name, division_code, level FROM agencies WHERE uscc = $1")
            .bind(uscc)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(agency_from_row).transpose()
    }

    pub async fn agencies(&self) -> Result<Vec<Agency>> {
        let rows = crate::db::query("SELECT uscc, name, division_code, level FROM agencies ORDER BY division_code, name")
            .fetch_all(self.read())
            .await?;
        rows.iter().map(agency_from_row).collect()
    }

    pub async fn base_person(&self, citizen_id: &str) -> Result<Option<BasePerson>> {
        let row = crate::db::query("SELECT citizen_id, name, birth_date, address_division, status FROM base_persons WHERE citizen_id = $1")
            .bind(citizen_id)
            .fetch_optional(self.read())
            .await?;
        row.map(|r| {
            Ok(BasePerson {
                citizen_id: r.try_get("citizen_id")?,
                name: r.try_get("name")?,
                birth_date: r.try_get("birth_date")?,
                address_division: r.try_get("address_division")?,
                status: r.try_get("status")?,
            })
        })
        .transpose()
    }

    pub async fn base_enterprise(&self, uscc: &str) -> Result<Option<BaseEnterprise>> {
        let row =
            crate::db::query("SELECT uscc, name, legal_rep_name, legal_rep_id, registration_status FROM base_enterprises WHERE uscc = $1")
                .bind(uscc)
                .fetch_optional(self.read())
                .await?;
        row.map(|r| {
            Ok(BaseEnterprise {
                uscc: r.try_get("uscc")?,
                name: r.try_get("name")?,
                legal_rep_name: r.try_get("legal_rep_name")?,
                legal_rep_id: r.try_get("legal_rep_id")?,
                registration_status: r.try_get("registration_status")?,
            })
        })
        .transpose()
    }

    pub async fn account(&self, id: &str) -> Result<Option<Account>> {
        let row = crate::db::query(account_query!("id = $1")).bind(id).fetch_optional(self.read()).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn account_by_citizen_id(&self, citizen_id: &str) -> Result<Option<Account>> {
        let row = crate::db::query(account_query!("citizen_id = $1")).bind(citizen_id).fetch_optional(self.read()).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Find the account a login name refers to: citizen ID, phone or email.
    pub async fn account_by_login(&self, login: &str) -> Result<Option<Account>> {
        let row = crate::db::query(account_query!("citizen_id = $1 OR phone = $1 OR email = $1 LIMIT 1"))
            .bind(login)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn accounts_count(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Enterprises the account may act for, legal representative first.
    pub async fn enterprises_for(&self, account_id: &str) -> Result<Vec<EnterpriseRole>> {
        let rows = crate::db::query(
            "SELECT uscc, name, 1 AS rep FROM enterprises WHERE legal_rep_account = $1 \
             UNION SELECT e.uscc, e.name, 0 AS rep FROM enterprise_agents a JOIN enterprises e ON e.uscc = a.uscc WHERE a.account_id = $1 \
             ORDER BY rep DESC, uscc",
        )
        .bind(account_id)
        .fetch_all(self.read())
        .await?;
        let mut out: Vec<EnterpriseRole> = Vec::with_capacity(rows.len());
        for r in &rows {
            let uscc: String = r.try_get("uscc")?;
            // A legal representative listed as agent too appears once, as representative.
            if out.iter().any(|e| e.uscc == uscc) {
                continue;
            }
            out.push(EnterpriseRole { uscc, name: r.try_get("name")?, legal_representative: r.try_get::<i64, _>("rep")? == 1 });
        }
        Ok(out)
    }

    /// The enterprise's legal representative and agents (masked display is the caller's job).
    pub async fn enterprise_people(&self, uscc: &str) -> Result<Option<(String, Vec<(Account, bool)>)>> {
        let Some(ent) = crate::db::query("SELECT name, legal_rep_account FROM enterprises WHERE uscc = $1")
            .bind(uscc)
            .fetch_optional(self.read())
            .await?
        else {
            return Ok(None);
        };
        let name: String = ent.try_get("name")?;
        let rep_id: String = ent.try_get("legal_rep_account")?;
        let mut people = Vec::new();
        if let Some(rep) = self.account(&rep_id).await? {
            people.push((rep, true));
        }
        let rows = crate::db::query(account_query!("id IN (SELECT account_id FROM enterprise_agents WHERE uscc = $1) ORDER BY name"))
            .bind(uscc)
            .fetch_all(self.read())
            .await?;
        for r in &rows {
            people.push((account_from_row(r)?, false));
        }
        Ok(Some((name, people)))
    }

    pub async fn staff_roles(&self, account_id: &str) -> Result<Vec<StaffRole>> {
        // A window clerk of a hall's running agency is a window clerk of every
        // agency in the hall (一窗受理).
        let rows = crate::db::query(
            "SELECT s.agency_uscc AS agency_uscc, a.name AS name, s.role AS role FROM staff_roles s \
             JOIN agencies a ON a.uscc = s.agency_uscc WHERE s.account_id = $1 \
             UNION SELECT ha.agency_uscc AS agency_uscc, a.name AS name, s.role AS role FROM staff_roles s \
             JOIN halls h ON h.agency_uscc = s.agency_uscc JOIN hall_agencies ha ON ha.hall_id = h.id \
             JOIN agencies a ON a.uscc = ha.agency_uscc WHERE s.account_id = $2 AND s.role = 'window_clerk' \
             ORDER BY agency_uscc, role",
        )
        .bind(account_id)
        .bind(account_id)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| Ok(StaffRole { agency: r.try_get("agency_uscc")?, agency_name: r.try_get("name")?, role: role_from_row(r)? }))
            .collect()
    }

    pub async fn agency_staff(&self, uscc: &str) -> Result<Vec<StaffMember>> {
        let rows = crate::db::query(
            "SELECT s.account_id, a.name, s.role FROM staff_roles s JOIN accounts a ON a.id = s.account_id WHERE s.agency_uscc = $1 ORDER BY a.name, s.role",
        )
        .bind(uscc)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| Ok(StaffMember { account_id: r.try_get("account_id")?, name: r.try_get("name")?, role: role_from_row(r)? }))
            .collect()
    }

    /// [`Store::principal`] with its level no higher than `level_cap` (what a
    /// federated login vouched for).
    pub async fn principal_capped(
        &self,
        account_id: &str,
        acting_for: Option<&str>,
        session_id: &str,
        level_cap: Option<RealNameLevel>,
        now: jiff::Timestamp,
    ) -> Result<Option<Principal>> {
        let mut p = self.principal(account_id, acting_for, session_id, now).await?;
        if let (Some(p), Some(cap)) = (p.as_mut(), level_cap) {
            p.level = p.level.min(cap);
        }
        Ok(p)
    }

    /// Build the request principal for an account, acting for `acting_for` if the
    /// account is (still) authorised for that enterprise, otherwise for itself.
    pub async fn principal(
        &self,
        account_id: &str,
        acting_for: Option<&str>,
        session_id: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<Principal>> {
        let Some(acc) = self.account(account_id).await? else { return Ok(None) };
        if acc.status != AccountStatus::Active {
            return Ok(None);
        }
        let staff = self.staff_roles(account_id).await?;
        let acting =
            match acting_for {
                Some(uscc) => self.enterprises_for(account_id).await?.into_iter().find(|e| e.uscc == uscc).map_or(Acting::Own, |e| {
                    Acting::Enterprise { uscc: e.uscc, name: e.name, legal_representative: e.legal_representative }
                }),
                None => Acting::Own,
            };
        Ok(Some(Principal {
            account_id: acc.id,
            subject: acc.subject,
            name: acc.name,
            citizen_id: acc.citizen_id,
            level: acc.level,
            acting,
            staff,
            via: AuthVia::Session { session_id: session_id.to_string() },
            assured: false,
            support: self.live_support_agencies(account_id, now).await?,
        }))
    }
}

impl Tx {
    pub async fn upsert_agency(&mut self, a: &Agency, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO agencies (uscc, name, division_code, level, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, division_code = excluded.division_code, level = excluded.level",
        )
        .bind(&a.uscc)
        .bind(&a.name)
        .bind(&a.division_code)
        .bind(&a.level)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "agency.upserted",
            "agency",
            &a.uscc,
            serde_json::json!({ "name": a.name, "level": a.level }),
        ))
        .await?;
        Ok(())
    }

    /// Insert or replace a population base-data row.
    pub async fn upsert_base_person(&mut self, p: &BasePerson, source: &str, now: jiff::Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO base_persons (citizen_id, name, birth_date, address_division, status, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (citizen_id) DO UPDATE SET name = excluded.name, birth_date = excluded.birth_date, address_division = excluded.address_division, \
             status = excluded.status, source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(&p.citizen_id)
        .bind(&p.name)
        .bind(&p.birth_date)
        .bind(&p.address_division)
        .bind(&p.status)
        .bind(source)
        .bind(ts(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    pub async fn upsert_base_enterprise(&mut self, e: &BaseEnterprise, source: &str, now: jiff::Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO base_enterprises (uscc, name, legal_rep_name, legal_rep_id, registration_status, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, legal_rep_name = excluded.legal_rep_name, legal_rep_id = excluded.legal_rep_id, \
             registration_status = excluded.registration_status, source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(&e.uscc)
        .bind(&e.name)
        .bind(&e.legal_rep_name)
        .bind(&e.legal_rep_id)
        .bind(&e.registration_status)
        .bind(source)
        .bind(ts(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Create an account. A citizen ID, phone or email already in use is a conflict.
    pub async fn create_account(&mut self, new: &NewAccount, actor: &str, now: jiff::Timestamp) -> Result<Account> {
        let at = ts(now);
        let id = new_id("acc");
        let subject = new_id("sub");
        let clash =
            crate::db::query("SELECT citizen_id, phone, email FROM accounts WHERE citizen_id = $1 OR phone = $2 OR email = $3 LIMIT 1")
                .bind(&new.citizen_id)
                .bind(&new.phone)
                .bind(&new.email)
                .fetch_optional(&mut *self)
                .await?;
        if let Some(r) = clash {
            let what = if r.try_get::<String, _>("citizen_id")? == new.citizen_id {
                "身份证号已注册 / citizen ID already registered"
            } else if new.phone.is_some() && r.try_get::<Option<String>, _>("phone")? == new.phone {
                "手机号已被使用 / phone already in use"
            } else {
                "邮箱已被使用 / email already in use"
            };
            return Err(StoreError::Conflict(what.into()));
        }
        crate::db::query(concat!(
            "INSERT INTO accounts (id, subject, citizen_id, name, phone, email, password_hash, level, level_source, status, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
        ))
        .bind(&id)
        .bind(&subject)
        .bind(&new.citizen_id)
        .bind(&new.name)
        .bind(&new.phone)
        .bind(&new.email)
        .bind(&new.password_hash)
        .bind(i64::from(new.level.as_u8()))
        .bind(&new.level_source)
        .bind(new.status.code())
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "account.created",
            "account",
            &id,
            serde_json::json!({ "level": new.level.as_u8(), "level_source": new.level_source, "status": new.status.code() }),
        ))
        .await?;
        let row = crate::db::query(account_query!("id = $1")).bind(&id).fetch_one(&mut *self).await?;
        account_from_row(&row)
    }

    pub async fn set_account_status(&mut self, id: &str, status: AccountStatus, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        let n = crate::db::query("UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.code())
            .bind(&at)
            .bind(id)
            .execute(&mut *self)
            .await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        self.append_audit(audit_rec(&at, actor, "account.status", "account", id, serde_json::json!({ "status": status.code() }))).await?;
        Ok(())
    }

    /// Raise (or set) the real-name level, recording where the assurance came from.
    pub async fn set_account_level(
        &mut self,
        id: &str,
        level: RealNameLevel,
        source: &str,
        actor: &str,
        reason: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let n = crate::db::query("UPDATE accounts SET level = $1, level_source = $2, updated_at = $3 WHERE id = $4")
            .bind(i64::from(level.as_u8()))
            .bind(source)
            .bind(&at)
            .bind(id)
            .execute(&mut *self)
            .await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        let mut rec =
            audit_rec(&at, actor, "account.level", "account", id, serde_json::json!({ "level": level.as_u8(), "source": source }));
        rec.reason = reason.to_string();
        self.append_audit(rec).await?;
        Ok(())
    }

    pub async fn set_password_hash(&mut self, id: &str, hash: &str, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(&at)
            .bind(id)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(&at, actor, "account.password_set", "account", id, serde_json::json!({}))).await?;
        Ok(())
    }

    pub async fn grant_staff_role(&mut self, account_id: &str, agency: &str, role: Role, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO staff_roles (account_id, agency_uscc, role, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, agency_uscc, role) DO NOTHING",
        )
        .bind(account_id)
        .bind(agency)
        .bind(role.code())
        .bind(actor)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "staff.role_granted",
            "account",
            account_id,
            serde_json::json!({ "agency": agency, "role": role.code() }),
        ))
        .await?;
        Ok(())
    }

    /// Register an enterprise account with its legal representative.
    pub async fn create_enterprise(
        &mut self,
        uscc: &str,
        name: &str,
        legal_rep_account: &str,
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let inserted = crate::db::query(
            "INSERT INTO enterprises (uscc, name, legal_rep_account, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (uscc) DO NOTHING RETURNING uscc",
        )
        .bind(uscc)
        .bind(name)
        .bind(legal_rep_account)
        .bind(&at)
        .fetch_optional(&mut *self)
        .await?;
        if inserted.is_none() {
            return Err(StoreError::Conflict("企业已开通 / enterprise already registered".into()));
        }
        self.append_audit(audit_rec(
            &at,
            actor,
            "enterprise.created",
            "enterprise",
            uscc,
            serde_json::json!({ "legal_rep_account": legal_rep_account }),
        ))
        .await?;
        Ok(())
    }

    /// Authorise a person as the enterprise's agent (经办人).
    pub async fn add_enterprise_agent(&mut self, uscc: &str, account_id: &str, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        crate::db::query("INSERT INTO enterprise_agents (uscc, account_id, granted_by, granted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (uscc, account_id) DO NOTHING")
            .bind(uscc)
            .bind(account_id)
            .bind(actor)
            .bind(&at)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "enterprise.agent_added",
            "enterprise",
            uscc,
            serde_json::json!({ "account_id": account_id }),
        ))
        .await?;
        Ok(())
    }

    pub async fn remove_enterprise_agent(&mut self, uscc: &str, account_id: &str, actor: &str, now: jiff::Timestamp) -> Result<bool> {
        let at = ts(now);
        let n = crate::db::query("DELETE FROM enterprise_agents WHERE uscc = $1 AND account_id = $2")
            .bind(uscc)
            .bind(account_id)
            .execute(&mut *self)
            .await?;
        if n.rows_affected() > 0 {
            self.append_audit(audit_rec(
                &at,
                actor,
                "enterprise.agent_removed",
                "enterprise",
                uscc,
                serde_json::json!({ "account_id": account_id }),
            ))
            .await?;
        }
        Ok(n.rows_affected() > 0)
    }
}
