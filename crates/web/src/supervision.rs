//! 电子监察, live (issue 22): the consumer of case events. Each case the case
//! write marked (`supervise_pending`) is evaluated with the node's rule set
//! (`yiwang_supervision::evaluate`) and its alerts kept once per key; the
//! sweep marks every case whose limits run, so the time rules are evaluated
//! again. Several processes may run it on one database: an alert is kept
//! once, and a case with a newer event stays marked.

use std::collections::HashMap;
use std::time::Duration;

use yiwang_case::Envelope;
use yiwang_store::{CaseRow, Store, StoreError};
use yiwang_supervision::{Alert, CaseFacts, RuleSet, evaluate};

use crate::AppState;

/// The required materials (是否必要) of each item version met, read once.
#[derive(Default)]
pub struct RequiredMaterials(HashMap<(String, i64), Vec<String>>);

impl RequiredMaterials {
    pub async fn of(&mut self, store: &Store, code: &str, version: i64) -> Result<&[String], StoreError> {
        let key = (code.to_string(), version);
        if !self.0.contains_key(&key) {
            let doc = store.filed_item(code, version).await?;
            let names = doc.map(|d| d.materials.iter().filter(|m| m.is_mandatory()).map(|m| m.name.clone()).collect()).unwrap_or_default();
            self.0.insert(key.clone(), names);
        }
        Ok(self.0.get(&key).map_or(&[][..], Vec::as_slice))
    }
}

/// A case's alerts as of `now` under `rules`: its events, with its item
/// version's required materials and the licenses attached to it. What the
/// consumer keeps and what a replay reports.
pub async fn case_alerts(
    store: &Store,
    rules: &RuleSet,
    required: &mut RequiredMaterials,
    c: &CaseRow,
    events: &[Envelope],
    calendar: &yiwang_calendar::Calendar,
    now: jiff::Timestamp,
) -> Result<Vec<Alert>, StoreError> {
    let required = required.of(store, &c.item_code, c.item_version).await?;
    let attached: Vec<String> = c.materials.iter().map(|m| m.material.clone()).collect();
    let facts = CaseFacts { case_no: &c.case_no, agency_uscc: &c.agency_uscc, required_materials: required, attached: &attached };
    Ok(evaluate(rules, facts, events, calendar, now))
}

/// Evaluate up to `batch` marked cases as of `now`; returns how many cases
/// were evaluated and how many alerts were new.
pub async fn supervise_once(store: &Store, rules: &RuleSet, batch: i64, now: jiff::Timestamp) -> Result<(usize, usize), StoreError> {
    let cases = store.cases_to_supervise(batch).await?;
    if cases.is_empty() {
        return Ok((0, 0));
    }
    let calendar = store.load_calendar().await?;
    let mut required = RequiredMaterials::default();
    let mut new = 0;
    for (c, events) in &cases {
        let alerts = case_alerts(store, rules, &mut required, c, events, &calendar, now).await?;
        new += store.keep_alerts(&c.case_no, c.version, &alerts, rules.version, now).await?;
    }
    Ok((cases.len(), new))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    pub level: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /api/v1/supervision/alerts?level=&limit=` (supervisors, admins): the
/// alerts kept, newest due first; of one level if asked.
pub async fn alerts_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: crate::auth::Auth,
    axum::extract::Query(q): axum::extract::Query<AlertQuery>,
) -> Result<axum::Json<serde_json::Value>, crate::ApiError> {
    let _ = auth.require()?;
    let level = match q.level.as_deref() {
        None | Some("") => None,
        Some(l @ ("notice" | "yellow" | "red")) => Some(l.to_string()),
        Some(other) => {
            return Err(crate::WebError::BadParam {
                name: "level",
                detail: format!("须为 notice、yellow 或 red，收到 {other:?} / one of notice, yellow, red"),
            }
            .into());
        }
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(crate::WebError::BadParam { name: "limit", detail: "1–1000".into() }.into());
    }
    let mut alerts = state.store().supervision_alerts(None, limit).await?;
    if let Some(level) = level {
        alerts.retain(|a| a.level == level);
    }
    Ok(axum::Json(serde_json::json!({ "alerts": alerts })))
}

/// How often the consumer looks for marked cases (event → alert well within 100 ms).
const POLL: Duration = Duration::from_millis(50);
/// How often the sweep marks the cases whose limits run.
const SWEEP: Duration = Duration::from_secs(3600);

/// The consumer and the sweep, for `serve`.
pub async fn run_supervision(state: AppState, rules: RuleSet) {
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP) {
            match state.store().mark_for_sweep().await {
                Ok(n) => tracing::debug!(cases = n, "supervision sweep marked the cases whose limits run"),
                Err(e) => tracing::warn!(error = %e, "the supervision sweep failed"),
            }
            last_sweep = Some(std::time::Instant::now());
        }
        match supervise_once(state.store(), &rules, 200, jiff::Timestamp::now()).await {
            Ok((0, _)) => tokio::time::sleep(POLL).await,
            Ok((_, 0)) => {}
            Ok((_, n)) => tracing::info!(alerts = n, "supervision alerts raised"),
            Err(e) => {
                tracing::warn!(error = %e, "supervision could not evaluate cases");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
