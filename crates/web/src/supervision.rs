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
use yiwang_supervision::{Alert, CaseFacts, ItemFacts, RuleSet, evaluate_with_next, officials};

use crate::AppState;

/// What the rules need beyond a case's own events, read once per batch (or
/// replay): each item version's facts, and each official's month of the
/// events the cross-case rules count, on an agency's cases.
#[derive(Default)]
pub struct FactsCache {
    items: HashMap<(String, i64), ItemFacts>,
    /// (agency, official, month) → that month's counted events and the
    /// alerts each rule set met gives over them.
    officials: HashMap<(String, String, String), OfficialMonth>,
}

/// One official's month on an agency's cases: the counted events (case,
/// time, kind), oldest first, and the alerts per rule set, computed once (a
/// replay compares two rule sets over the same events).
#[derive(Default)]
struct OfficialMonth {
    events: Vec<(String, jiff::Timestamp, String)>,
    alerts: Vec<(RuleSet, Vec<Alert>)>,
}

impl FactsCache {
    pub async fn of(&mut self, store: &Store, code: &str, version: i64) -> Result<&ItemFacts, StoreError> {
        let key = (code.to_string(), version);
        if !self.items.contains_key(&key) {
            let facts = store.filed_item(code, version).await?.map(|d| item_facts(&d)).unwrap_or_default();
            self.items.insert(key.clone(), facts);
        }
        Ok(self.items.get(&key).unwrap_or(&EMPTY))
    }

    /// The cross-case 廉政 alerts that fall on case `c`: for each official
    /// and month of its counted events, that official's month on the
    /// agency's cases, and the alerts whose crossing event is on `c`.
    async fn official_alerts(
        &mut self,
        store: &Store,
        rules: &RuleSet,
        c: &CaseRow,
        events: &[Envelope],
        evaluated: usize,
    ) -> Result<Vec<Alert>, StoreError> {
        let mut groups: Vec<(String, String, jiff::Timestamp, jiff::Timestamp)> = Vec::new();
        // A crossing falls on one of the case's counted events not yet evaluated.
        let new = events.get(evaluated..).unwrap_or_default();
        for e in new.iter().filter(|e| officials::Counted::of(&e.event).is_some() && !e.actor.is_empty()) {
            let (month, from, to) = officials::month_of(e.at);
            if !groups.iter().any(|(a, m, _, _)| a == &e.actor && m == &month) {
                groups.push((e.actor.clone(), month, from, to));
            }
        }
        let mut out = Vec::new();
        for (actor, month, from, to) in groups {
            let key = (c.agency_uscc.clone(), actor, month);
            if !self.officials.contains_key(&key) {
                let events = store.official_events(&c.agency_uscc, &key.1, from, to).await?;
                self.officials.insert(key.clone(), OfficialMonth { events, alerts: Vec::new() });
            }
            let Some(m) = self.officials.get_mut(&key) else { continue };
            if !m.alerts.iter().any(|(set, _)| set == rules) {
                let actor = key.1.as_str();
                let view: Vec<officials::OfficialEvent<'_>> = m
                    .events
                    .iter()
                    .filter_map(|(no, at, kind)| {
                        let counted = officials::Counted::of_kind(kind)?;
                        Some(officials::OfficialEvent { case_no: no, agency_uscc: &c.agency_uscc, actor, at: *at, counted })
                    })
                    .collect();
                let alerts = officials::official_alerts(rules, &view);
                m.alerts.push((rules.clone(), alerts));
            }
            let mine = m.alerts.iter().find(|(set, _)| set == rules).map_or(&[][..], |(_, a)| a.as_slice());
            out.extend(mine.iter().filter(|a| a.case_no == c.case_no).cloned());
        }
        Ok(out)
    }
}

static EMPTY: ItemFacts = ItemFacts {
    required_materials: Vec::new(),
    published_steps: Vec::new(),
    result_licenses: Vec::new(),
    charged: false,
    fees: Vec::new(),
};

/// An item version's facts for the rules: required materials, the published
/// 办理流程, the e-license types its results issue, and its fee table.
pub fn item_facts(doc: &yiwang_catalog::ItemDoc) -> ItemFacts {
    ItemFacts {
        required_materials: doc.materials.iter().filter(|m| m.is_mandatory()).map(|m| m.name.clone()).collect(),
        published_steps: doc.process.iter().map(|s| s.name.clone()).collect(),
        result_licenses: doc.results.iter().filter_map(|r| r.license_type.clone()).collect(),
        charged: doc.charged,
        fees: doc
            .fees
            .iter()
            .map(|f| yiwang_supervision::FeeFacts { name: f.name.trim().to_string(), range_fen: f.range_fen(), reducible: f.reducible })
            .collect(),
    }
}

/// A case's alerts as of `now` under `rules`, and the day the sweep is to
/// look at it again: its events, with its item version's facts, the
/// licenses attached to it and those it issued. What the consumer keeps and
/// what a replay reports. The first `evaluated` events were evaluated by an
/// earlier pass (0 for a replay): the cross-case rules read an official's
/// month only for the rest.
#[allow(clippy::too_many_arguments)]
pub async fn case_alerts(
    store: &Store,
    rules: &RuleSet,
    items: &mut FactsCache,
    c: &CaseRow,
    events: &[Envelope],
    evaluated: usize,
    calendar: &yiwang_calendar::Calendar,
    now: jiff::Timestamp,
) -> Result<(Vec<Alert>, Option<jiff::civil::Date>), StoreError> {
    let item = items.of(store, &c.item_code, c.item_version).await?;
    let attached: Vec<String> = c.materials.iter().map(|m| m.material.clone()).collect();
    // Only an approved conclusion of an item that issues licenses asks which
    // it issued; a bundle's child is issued at its last sibling's conclusion.
    let asks = c.case.concluded_on.is_some() && c.case.decision == Some(yiwang_case::Decision::Approve) && !item.result_licenses.is_empty();
    let issued: Option<Vec<String>> = match &c.bundle_no {
        Some(_) => None,
        None if asks => Some(store.licenses_of_case(&c.case_no).await?.into_iter().map(|l| l.type_code).collect()),
        None => Some(Vec::new()),
    };
    let facts = CaseFacts {
        case_no: &c.case_no,
        agency_uscc: &c.agency_uscc,
        item,
        attached: &attached,
        runs_process: c.process.is_some(),
        issued_licenses: issued.as_deref(),
    };
    let (mut alerts, next) = evaluate_with_next(rules, facts, events, calendar, now);
    let officials = items.official_alerts(store, rules, c, events, evaluated).await?;
    alerts.extend(officials.into_iter().filter(|a| a.at <= now));
    Ok((alerts, next))
}

/// Evaluate up to `batch` marked cases as of `now`; returns how many cases
/// were evaluated and how many alerts were new.
pub async fn supervise_once(store: &Store, rules: &RuleSet, batch: i64, now: jiff::Timestamp) -> Result<(usize, usize), StoreError> {
    let cases = store.cases_to_supervise(batch).await?;
    if cases.is_empty() {
        return Ok((0, 0));
    }
    let calendar = store.load_calendar().await?;
    let mut items = FactsCache::default();
    let mut new = 0;
    for (c, events, evaluated) in &cases {
        let evaluated = usize::try_from(*evaluated).unwrap_or(0);
        let (alerts, next) = case_alerts(store, rules, &mut items, c, events, evaluated, &calendar, now).await?;
        new += store.keep_alerts(&c.case_no, c.version, &alerts, rules.version, next, now).await?;
    }
    Ok((cases.len(), new))
}

/// How long a claimed sweep holds before another process may take it over.
const SWEEP_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
/// Cases marked per statement of the sweep.
const SWEEP_BATCH: i64 = 10_000;

/// The sweep of `day` (China time), if no process has done it: marks the
/// cases whose check day has come, batch by batch under a lease, so several
/// processes on one database sweep once and a crashed sweep is taken over.
/// Returns how many cases this process marked, or `None` when another holds
/// the sweep and it is not done yet.
pub async fn sweep(store: &Store, day: jiff::civil::Date, me: &str) -> Result<Option<u64>, StoreError> {
    let day_text = day.to_string();
    let now = jiff::Timestamp::now();
    match store.claim_sweep(&day_text, me, now + SWEEP_LEASE, now).await? {
        yiwang_store::SweepClaim::Done => return Ok(Some(0)),
        yiwang_store::SweepClaim::Held => return Ok(None),
        yiwang_store::SweepClaim::Claimed => {}
    }
    let mut marked = 0;
    loop {
        match store.sweep_batch(&day_text, me, SWEEP_BATCH, jiff::Timestamp::now() + SWEEP_LEASE).await? {
            None => return Ok(None),
            Some(0) => break,
            Some(n) => marked += n,
        }
    }
    // The follow-ups: orders and 差评 loops past their deadlines, as of the swept day.
    let now = jiff::Timestamp::now();
    let as_of = yiwang_calendar::china_day_start(day).map_or(now, |start| start.max(now));
    let (orders, loops) = store.open_followups(day).await?;
    let followups = yiwang_supervision::followups::overdue_followups(&orders, &loops, as_of);
    let new = store.keep_followup_alerts(&followups, now).await?;
    if new > 0 {
        tracing::info!(new, day = %day, "supervision follow-ups: overdue orders and 差评 loops");
    }
    store.finish_sweep(&day_text, me, jiff::Timestamp::now()).await?;
    Ok(Some(marked))
}

/// How often the consumer looks for marked cases (event → alert well within 100 ms).
const POLL: Duration = Duration::from_millis(50);
/// How often a process checks whether today's sweep is done.
const SWEEP_CHECK: Duration = Duration::from_secs(60);

/// The consumer and the daily sweep, for `serve`.
pub async fn run_supervision(state: AppState, rules: RuleSet) {
    let me = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
    let mut swept: Option<jiff::civil::Date> = None;
    // When this process last asked, and for which day: a new day is asked at once.
    let mut asked: Option<(jiff::civil::Date, std::time::Instant)> = None;
    loop {
        let today = yiwang_calendar::china_today(jiff::Timestamp::now());
        if swept != Some(today) && asked.is_none_or(|(day, t)| day != today || t.elapsed() >= SWEEP_CHECK) {
            asked = Some((today, std::time::Instant::now()));
            match sweep(state.store(), today, &me).await {
                Ok(Some(n)) => {
                    tracing::debug!(cases = n, day = %today, "supervision sweep done");
                    swept = Some(today);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the supervision sweep failed"),
            }
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
