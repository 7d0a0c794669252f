//! 信用信息库 (issue 21): a subject's credit records — 失信 flags from the
//! credit platform (imported), and 告知承诺 found untruthful here (written in
//! the finding's transaction). A subject with a record in force is not
//! offered 告知承诺. Served to other nodes as a shared resource
//! (`base-data/credit/v1`).

use serde::{Deserialize, Serialize};

use crate::db::RowLike;
use crate::{Result, Store, StoreError, Tx, ts};

/// 失信被执行人 and the like, from the credit platform.
pub const DISHONEST: &str = "dishonest";
/// 告知承诺 found untruthful on verification.
pub const COMMITMENT_VIOLATION: &str = "commitment_violation";

/// How long a finding of 告知承诺不实 keeps 告知承诺 from its subject, in
/// years [I]: an inference from the credit-repair periods of 失信 records,
/// to be set by the operator's rules once they are known.
pub const VIOLATION_YEARS: i16 = 3;

/// The subject type of an identifier: `049` for a USCC, else `111` (a citizen ID).
pub fn subject_type_of(id: &str) -> &'static str {
    if yiwang_codes::Uscc::parse(id).is_ok() { "049" } else { "111" }
}

/// The division a subject of a type (`049` by USCC, else by citizen ID) is
/// registered in: a USCC's characters 3–8, a citizen ID's first 6 digits
/// (empty if too short). What a grant's row scope is checked against.
pub fn subject_division<'a>(subject_type: &str, id: &'a str) -> &'a str {
    let span = if subject_type == "049" { 2..8 } else { 0..6 };
    id.get(span).unwrap_or_default()
}

/// One credit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRecord {
    /// `111` (a person by citizen ID) or `049` (an organisation by USCC).
    pub subject_type: String,
    pub subject_id: String,
    /// `dishonest` or `commitment_violation`.
    pub kind: String,
    /// Where it comes from (信用中国, a court, this node).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    pub reason: String,
    /// In force until this day (inclusive); none: until removed at the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_on: Option<String>,
}

/// A subject's standing: what decides whether 告知承诺 is offered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreditStanding {
    pub dishonest: bool,
    pub commitment_violations: i64,
    pub records: Vec<CreditRecord>,
}

impl CreditStanding {
    /// Whether 告知承诺 may be offered (no record in force).
    pub fn commitment_offered(&self) -> bool {
        !self.dishonest && self.commitment_violations == 0
    }
}

/// A record that cannot be imported: its line and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditProblem {
    pub line: usize,
    pub reason: String,
}

impl CreditRecord {
    /// Why this record cannot be kept, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if !matches!(self.subject_type.as_str(), "111" | "049") {
            return Some("subject_type is 111 (citizen ID) or 049 (USCC)".into());
        }
        // The birth date is not checked against today: a list may be read any day.
        let id_ok = if self.subject_type == "111" {
            yiwang_codes::CitizenId::parse(&self.subject_id, jiff::civil::date(2100, 1, 1)).is_ok()
        } else {
            yiwang_codes::Uscc::parse(&self.subject_id).is_ok()
        };
        if !id_ok {
            return Some(format!("{} is not a valid identifier of type {}", self.subject_id, self.subject_type));
        }
        if !matches!(self.kind.as_str(), DISHONEST | COMMITMENT_VIOLATION) {
            return Some("kind is dishonest or commitment_violation".into());
        }
        if self.source.trim().is_empty() || self.source.chars().count() > 100 || self.reason.chars().count() > 500 {
            return Some("a source of 1–100 and a reason of at most 500 characters".into());
        }
        if let Some(u) = &self.until_on
            && u.parse::<jiff::civil::Date>().is_err()
        {
            return Some(format!("until_on {u} is not a date (YYYY-MM-DD)"));
        }
        None
    }
}

impl Tx {
    /// Keep one credit record (checked by the caller).
    pub async fn record_credit(&mut self, r: &CreditRecord, now: jiff::Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO credit_records (id, subject_type, subject_id, kind, source, case_no, reason, recorded_at, until_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(crate::accounts::new_id("credit"))
        .bind(&r.subject_type)
        .bind(&r.subject_id)
        .bind(&r.kind)
        .bind(&r.source)
        .bind(&r.case_no)
        .bind(&r.reason)
        .bind(ts(now))
        .bind(&r.until_on)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

impl Store {
    /// A subject's records in force on `today`.
    pub async fn credit_standing(&self, subject_type: &str, subject_id: &str, today: jiff::civil::Date) -> Result<CreditStanding> {
        let rows = crate::db::query(
            "SELECT subject_type, subject_id, kind, source, case_no, reason, until_on FROM credit_records \
             WHERE subject_type = $1 AND subject_id = $2 AND (until_on IS NULL OR until_on >= $3) ORDER BY recorded_at LIMIT 100",
        )
        .bind(subject_type)
        .bind(subject_id)
        .bind(today.to_string())
        .fetch_all(self.read())
        .await?;
        let mut standing = CreditStanding::default();
        for r in &rows {
            let rec = CreditRecord {
                subject_type: r.try_get("subject_type")?,
                subject_id: r.try_get("subject_id")?,
                kind: r.try_get("kind")?,
                source: r.try_get("source")?,
                case_no: r.try_get("case_no")?,
                reason: r.try_get("reason")?,
                until_on: r.try_get("until_on")?,
            };
            match rec.kind.as_str() {
                DISHONEST => standing.dishonest = true,
                COMMITMENT_VIOLATION => standing.commitment_violations += 1,
                other => return Err(StoreError::Corrupt(format!("credit record kind {other}"))),
            }
            standing.records.push(rec);
        }
        Ok(standing)
    }

    /// Whether `applicant` may be offered 告知承诺 on `now`'s day (no credit record in force).
    pub async fn commitment_offered(&self, applicant: &crate::Applicant, now: jiff::Timestamp) -> Result<bool> {
        let today = yiwang_calendar::china_today(now);
        Ok(self.credit_standing(&applicant.id_type, &applicant.id, today).await?.commitment_offered())
    }

    /// Import records (from the credit platform's list): all of them, or
    /// none with every problem; audited.
    pub async fn import_credit(
        &self,
        records: &[CreditRecord],
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<std::result::Result<usize, Vec<CreditProblem>>> {
        let problems: Vec<CreditProblem> =
            records.iter().enumerate().filter_map(|(i, r)| r.problem().map(|reason| CreditProblem { line: i + 1, reason })).collect();
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let mut tx = self.begin().await?;
        for r in records {
            tx.record_credit(r, now).await?;
        }
        tx.append_audit(crate::accounts::audit_rec(
            &ts(now),
            actor,
            "credit.imported",
            "credit_records",
            "",
            serde_json::json!({ "records": records.len() }),
        ))
        .await?;
        tx.commit().await?;
        Ok(Ok(records.len()))
    }
}
