//! Synthetic data at scale (`yiwang synthetic`, and the 1-million-case list
//! benchmark): citizens and enterprises in the base data, and cases spread
//! over the last year across the node's published items, in the states a
//! real hall's cases are in. Each case's state is folded from its events by
//! the real state machine and its due dates counted on the node's calendar;
//! only the folded rows are written (no event rows), in bulk.

use std::collections::HashMap;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use yiwang_case::{Case, Decision, Envelope, Event, SpecialKind};
use yiwang_store::{Applicant, BaseEnterprise, BasePerson, LoadedCase, Store};

/// How much to make.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub citizens: usize,
    pub enterprises: usize,
    pub cases: usize,
}

#[derive(Debug, Serialize)]
pub struct Filled {
    pub citizens: usize,
    pub enterprises: usize,
    pub cases: usize,
    pub seconds: f64,
    /// Cases per state.
    pub states: std::collections::BTreeMap<&'static str, usize>,
}

/// The i-th synthetic citizen ID (valid, distinct): born on a day from 1950
/// on, 999 a day, in 西湖区.
pub fn citizen_id(i: usize) -> String {
    let day =
        jiff::civil::date(1950, 1, 1).checked_add(SignedDuration::from_hours(24 * i64::try_from(i / 999).unwrap_or(0))).unwrap_or_default();
    let body = format!("330106{}{:03}", day.strftime("%Y%m%d"), i % 999 + 1);
    let check = yiwang_codes::citizen_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// The i-th synthetic enterprise's USCC (valid, distinct).
pub fn enterprise_uscc(i: usize) -> String {
    let org8 = format!("S{:07}", i % 10_000_000);
    let org = format!("{org8}{}", yiwang_codes::org_code_check_char(&org8).unwrap_or('0'));
    let body = format!("91330106{org}");
    format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap_or('0'))
}

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"];

fn enterprise_name(i: usize) -> String {
    format!("杭州{}{}有限公司", person_name(i + 7), ["餐饮", "科技", "贸易", "建筑", "商贸"][i % 5])
}

fn person_name(i: usize) -> String {
    format!("{}{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / 12) % GIVEN.len()], GIVEN[(i / 120) % GIVEN.len()])
}

/// The state a case ends in, by its share of a real hall's cases (per cent):
/// mostly delivered, some in every open state.
fn target(i: usize) -> &'static str {
    match (i * 37) % 100 {
        0..=3 => "draft",
        4..=6 => "submitted",
        7..=8 => "correction_notice",
        9..=11 => "not_accepted",
        12..=14 => "withdrawn",
        15..=19 => "accepted",
        20..=27 => "in_process",
        28..=29 => "special_procedure",
        30..=39 => "concluded",
        _ => "delivered",
    }
}

/// The events that bring a case to `state`, one working step a day.
fn events_to(state: &str, promised: u32, legal: u32) -> Vec<(i64, &'static str, Event)> {
    let mut out: Vec<(i64, &'static str, Event)> = Vec::new();
    if state == "draft" {
        return out;
    }
    out.push((0, "", Event::Submitted));
    match state {
        "submitted" => return out,
        "correction_notice" => {
            out.push((1, "", Event::CorrectionNotified { items: vec!["申请书签字页".into()] }));
            return out;
        }
        "not_accepted" => {
            out.push((1, "不属于本机关职权范围", Event::NotAccepted { legal_basis: "《中华人民共和国行政许可法》第三十二条".into() }));
            return out;
        }
        "withdrawn" => {
            out.push((1, "", Event::Withdrawn));
            return out;
        }
        _ => {}
    }
    out.push((
        1,
        "",
        Event::Accepted {
            promised_days: promised,
            legal_days: legal,
            pending: vec![],
            commitment_check_days: 0,
            units: Default::default(),
        },
    ));
    if state == "accepted" {
        return out;
    }
    out.push((2, "", Event::StepStarted { step: "审查".into() }));
    if state == "in_process" {
        return out;
    }
    out.push((3, "需现场核查", Event::SpecialStarted { kind: SpecialKind::Other, name: "现场核查".into(), extension_days: 0 }));
    if state == "special_procedure" {
        return out;
    }
    out.push((4, "", Event::SpecialEnded { result: "与申报一致".into() }));
    out.push((4, "符合条件", Event::StepPassed { step: "审查".into(), data: Default::default() }));
    out.push((5, "", Event::Decided { decision: Decision::Approve }));
    out.push((5, "", Event::Concluded { result: "准予许可".into() }));
    if state == "delivered" {
        out.push((6, "", Event::Delivered { method: "电子证照".into() }));
    }
    out
}

/// Fill `store` (a node with published items) by `plan`. Cases are created
/// over the year before `now`; none is changed after `now`.
pub async fn fill(store: &Store, plan: Plan, now: Timestamp) -> anyhow::Result<Filled> {
    let started = Instant::now();
    let calendar = store.load_calendar().await?;
    for chunk in (0..plan.citizens).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = store.begin().await?;
        for &i in chunk {
            let p = BasePerson {
                citizen_id: citizen_id(i),
                name: person_name(i),
                birth_date: citizen_id(i)[6..14].to_string(),
                address_division: "330106".into(),
                status: "normal".into(),
            };
            tx.upsert_base_person(&p, "synthetic", now).await?;
        }
        tx.commit().await?;
    }
    for chunk in (0..plan.enterprises).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = store.begin().await?;
        for &i in chunk {
            let e = BaseEnterprise {
                uscc: enterprise_uscc(i),
                name: enterprise_name(i),
                legal_rep_name: person_name(i + 3),
                legal_rep_id: citizen_id(i + 1_000_000),
                registration_status: "active".into(),
            };
            tx.upsert_base_enterprise(&e, "synthetic", now).await?;
        }
        tx.commit().await?;
    }
    let items = store.published_items().await?;
    anyhow::ensure!(!items.is_empty() || plan.cases == 0, "the node has no published items to file cases for");
    let year = 365 * 24 * 3600;
    let mut numbers: HashMap<(String, String), i64> = HashMap::new();
    let mut states = std::collections::BTreeMap::new();
    let mut batch: Vec<LoadedCase> = Vec::with_capacity(5_000);
    for i in 0..plan.cases {
        let published = &items[i % items.len()];
        let item = &published.doc;
        let natural = item.for_natural_persons() && (!item.for_legal_persons() || i % 2 == 0);
        let applicant = match natural {
            true if plan.citizens > 0 => {
                let k = (i * 7919) % plan.citizens;
                Applicant { id_type: "111".into(), id: citizen_id(k), name: person_name(k) }
            }
            false if plan.enterprises > 0 => {
                let k = (i * 7919) % plan.enterprises;
                Applicant { id_type: "049".into(), id: enterprise_uscc(k), name: enterprise_name(k) }
            }
            _ => Applicant { id_type: "111".into(), id: citizen_id(i), name: person_name(i) },
        };
        // Spread evenly over the last year, newest first, and at least a week back
        // so that every step is in the past.
        let back = 7 * 24 * 3600 + (i as i64 * year) / plan.cases.max(1) as i64;
        let created = now - SignedDuration::from_secs(back);
        let state = target(i);
        let mut case = Case::default();
        let mut updated = created;
        for (day, reason, event) in events_to(state, item.promised_limit.amount, item.legal_limit.amount) {
            let at = created + SignedDuration::from_hours(24 * day);
            case = case.apply(&Envelope { at, actor: "synthetic".into(), reason: reason.into(), event })?;
            updated = at;
        }
        let deadlines = case.deadlines(&calendar, yiwang_calendar::china_today(updated))?;
        let agency = item.agency.uscc.clone();
        let day = yiwang_calendar::china_today(created).strftime("%Y%m%d").to_string();
        let seq = numbers.entry((agency.clone(), day.clone())).or_insert(0);
        *seq += 1;
        *states.entry(case.state.code()).or_insert(0) += 1;
        batch.push(LoadedCase {
            case_no: format!("{agency}{day}{:06}", *seq),
            item_code: item.implementation_code.clone(),
            item_name: item.name.clone(),
            agency_uscc: agency,
            form: serde_json::json!({ "applicant_name": applicant.name, "contact_phone": "13800138000" }),
            applicant,
            account_id: "synthetic".into(),
            query_code: format!("{:08}", (i * 48_271) % 100_000_000),
            case,
            created_at: created,
            updated_at: updated,
            promised_due: deadlines.map(|d| d.promised_due.to_string()),
            legal_due: deadlines.map(|d| d.legal_due.to_string()),
            channel: if i % 3 == 0 { "window".into() } else { "online".into() },
            hall_id: None,
            item_version: published.version,
        });
        if batch.len() == batch.capacity() || i + 1 == plan.cases {
            let mut tx = store.begin().await?;
            tx.load_cases(&batch).await?;
            tx.commit().await?;
            batch.clear();
        }
    }
    let mut tx = store.begin().await?;
    for ((agency, day), seq) in &numbers {
        tx.reserve_case_numbers(agency, day, *seq).await?;
    }
    tx.commit().await?;
    store.after_bulk_load().await?;
    Ok(Filled {
        citizens: plan.citizens,
        enterprises: plan.enterprises,
        cases: plan.cases,
        seconds: started.elapsed().as_secs_f64(),
        states,
    })
}
