//! 电子监察's store (issue 22): the alerts the rules gave, kept once per case
//! and key, and the cases whose new events supervision has not evaluated
//! (`cases.supervise_pending`, set by the case write in the event's own
//! statement, cleared here once the case is evaluated at the version read).

use serde::Serialize;
use yiwang_case::Envelope;
use yiwang_supervision::Alert;

use crate::cases::{CASE_COLUMNS, case_row};
use crate::db::RowLike;
use crate::{CaseRow, Result, Store, safe, ts};

/// The states in which a case's time limits run: what the sweep marks.
const CLOCK_RUNNING: &str = "'accepted', 'in_process', 'special_procedure', 'decided'";

/// An alert as kept.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAlert {
    pub case_no: String,
    pub key: String,
    pub rule: String,
    pub class: String,
    pub level: String,
    pub agency_uscc: String,
    pub due_at: String,
    pub message_zh: String,
    pub rule_version: i64,
    pub raised_at: String,
}

impl Store {
    /// Up to `limit` cases with events not yet evaluated, with their events.
    pub async fn cases_to_supervise(&self, limit: i64) -> Result<Vec<(CaseRow, Vec<Envelope>)>> {
        let rows =
            crate::db::query(safe(format!("SELECT {CASE_COLUMNS} FROM cases WHERE supervise_pending = 1 ORDER BY case_no LIMIT $1")))
                .bind(limit.clamp(1, 1000))
                .fetch_all(self.write())
                .await?;
        let cases: Vec<CaseRow> = rows.iter().map(case_row).collect::<Result<_>>()?;
        self.with_events(cases, self.write()).await
    }

    /// Keep a case's alerts (each once per key) and, when the case is still
    /// at `version`, mark it evaluated; returns how many alerts were new.
    pub async fn keep_alerts(
        &self,
        case_no: &str,
        version: i64,
        alerts: &[Alert],
        rule_version: u32,
        now: jiff::Timestamp,
    ) -> Result<usize> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        let mut new = 0;
        // A case's alerts in one statement (a few; at most a few dozen).
        if !alerts.is_empty() {
            let rows: Vec<String> = (0..alerts.len())
                .map(|i| {
                    let cols: Vec<String> = (1..=10).map(|c| format!("${}", i * 10 + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO supervision_alerts (case_no, alert_key, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at) \
                 VALUES {} ON CONFLICT (case_no, alert_key) DO NOTHING",
                rows.join(", ")
            );
            let code = |v: serde_json::Result<serde_json::Value>| v.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let mut q = crate::db::query(safe(sql));
            for a in alerts {
                q = q
                    .bind(case_no)
                    .bind(&a.key)
                    .bind(&a.rule)
                    .bind(code(serde_json::to_value(a.class)))
                    .bind(code(serde_json::to_value(a.level)))
                    .bind(&a.agency_uscc)
                    .bind(ts(a.at))
                    .bind(&a.message_zh)
                    .bind(i64::from(rule_version))
                    .bind(&at);
            }
            new = q.execute(&mut tx).await?.rows_affected() as usize;
        }
        // A newer event meanwhile keeps the case pending: it is evaluated again.
        crate::db::query("UPDATE cases SET supervise_pending = 0 WHERE case_no = $1 AND version = $2")
            .bind(case_no)
            .bind(version)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// The sweep: mark every case whose time limits run, so the time rules
    /// are evaluated again; returns how many.
    pub async fn mark_for_sweep(&self) -> Result<u64> {
        let done = crate::db::query(safe(format!(
            "UPDATE cases SET supervise_pending = 1 WHERE supervise_pending = 0 AND state IN ({CLOCK_RUNNING})"
        )))
        .execute(self.write())
        .await?;
        Ok(done.rows_affected())
    }

    /// The alerts kept, newest due first; of some agencies' cases, or all.
    pub async fn supervision_alerts(&self, agencies: Option<&[&str]>, limit: i64) -> Result<Vec<StoredAlert>> {
        let limit = limit.clamp(1, 1000);
        let rows = match agencies {
            None => {
                crate::db::query(
                    "SELECT case_no, alert_key, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at \
                     FROM supervision_alerts ORDER BY due_at DESC, case_no, alert_key LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.read())
                .await?
            }
            Some(list) => {
                let mut out = Vec::new();
                for a in list {
                    out.extend(
                        crate::db::query(
                            "SELECT case_no, alert_key, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at \
                             FROM supervision_alerts WHERE agency_uscc = $1 ORDER BY due_at DESC, case_no, alert_key LIMIT $2",
                        )
                        .bind(*a)
                        .bind(limit)
                        .fetch_all(self.read())
                        .await?,
                    );
                }
                out
            }
        };
        rows.iter()
            .map(|r| {
                Ok(StoredAlert {
                    case_no: r.try_get("case_no")?,
                    key: r.try_get("alert_key")?,
                    rule: r.try_get("rule")?,
                    class: r.try_get("class")?,
                    level: r.try_get("level")?,
                    agency_uscc: r.try_get("agency_uscc")?,
                    due_at: r.try_get("due_at")?,
                    message_zh: r.try_get("message")?,
                    rule_version: r.try_get("rule_version")?,
                    raised_at: r.try_get("raised_at")?,
                })
            })
            .collect()
    }
}
