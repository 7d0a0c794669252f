//! 第三方评估指标 (issue 22): the five dimensions of online service capability,
//! 0–100 per agency and per region over a period, from the node's own items,
//! cases and ratings (`yiwang_supervision::indicators`, formulas in
//! docs/supervision.md). JSON at `/api/v1/indicators`, a PDF report at
//! `/api/v1/indicators/report.pdf`, a page at `/console/indicators`; readers
//! are the supervision scope's (supervisors by region, heads their agency,
//! administrators all).
//!
//! The counts of a period are computed for every agency at most once every
//! five minutes (`IndicatorCache`); each request pools and scores the ones its
//! reader may read, which costs nothing next to the counting.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_supervision::indicators::{Dimension, Evaluation, Sub, Tally, Weights, evaluate};

use crate::auth::Auth;
use crate::charts::BarChart;
use crate::pages::{Layout, render};
use crate::supervision_orders::Scope;
use crate::{ApiError, AppState, WebError};

const FRESH_FOR: Duration = Duration::from_secs(300);
/// Periods kept at once: a reader trying many periods cannot fill memory.
const PERIODS_KEPT: usize = 16;
/// The longest period asked for, in days (three years).
const LONGEST: i64 = 1096;

/// Every agency's counts over one period.
pub struct Counted {
    pub from: Date,
    pub to: Date,
    pub computed_at: String,
    /// By agency USCC: (name, division, tally); agencies with nothing to count left out.
    pub agencies: BTreeMap<String, (String, String, Tally)>,
}

/// Counted periods, each kept for [`FRESH_FOR`].
#[derive(Default)]
pub struct IndicatorCache(Mutex<HashMap<(Date, Date), Kept>>);

/// A period's counts and when they were made.
type Kept = (Instant, Arc<Counted>);

impl IndicatorCache {
    fn fresh(&self, key: (Date, Date)) -> Option<Arc<Counted>> {
        let held = self.0.lock().ok()?;
        held.get(&key).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, c)| c.clone())
    }

    fn keep(&self, key: (Date, Date), c: Arc<Counted>) {
        if let Ok(mut held) = self.0.lock() {
            held.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
            if held.len() >= PERIODS_KEPT {
                let oldest = held.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    held.remove(&k);
                }
            }
            held.insert(key, (Instant::now(), c));
        }
    }
}

/// Count a period for every agency: their published items (with the
/// once-only analyzer's findings), the cases applied for and the ratings
/// given in it.
pub async fn count(state: &AppState, from: Date, to: Date) -> Result<Counted, ApiError> {
    let store = state.store();
    let holdings = crate::catalog::holdings(store).await?;
    let basic_known = !holdings.basic.is_empty();
    let agencies = store.agencies().await?;
    let mut out: BTreeMap<String, (String, String, Tally)> = BTreeMap::new();
    let entry = |out: &mut BTreeMap<String, (String, String, Tally)>, uscc: &str| {
        if !out.contains_key(uscc) {
            let (name, division) = agencies
                .iter()
                .find(|a| a.uscc == uscc)
                .map_or_else(|| (uscc.to_string(), String::new()), |a| (a.name.clone(), a.division_code.clone()));
            out.insert(uscc.to_string(), (name, division, Tally::default()));
        }
    };
    for item in store.published_items().await? {
        let report = yiwang_catalog::analyze::analyze_item(&item.doc, &holdings);
        entry(&mut out, &item.doc.agency.uscc);
        if let Some((_, _, t)) = out.get_mut(&item.doc.agency.uscc) {
            t.add_item(&item.doc, &report, basic_known);
        }
    }
    let usccs: Vec<String> = agencies.iter().map(|a| a.uscc.clone()).collect();
    for (uscc, (cases, ratings)) in store.indicator_counts(&usccs, from, to).await? {
        entry(&mut out, &uscc);
        if let Some((_, _, t)) = out.get_mut(&uscc) {
            t.add_cases(&cases);
            t.add_ratings(&ratings);
        }
    }
    Ok(Counted { from, to, computed_at: crate::pages::china_time(&yiwang_store::ts(jiff::Timestamp::now())), agencies: out })
}

async fn counted(state: &AppState, from: Date, to: Date) -> Result<Arc<Counted>, ApiError> {
    let cache = state.indicator_cache();
    if let Some(c) = cache.fresh((from, to)) {
        return Ok(c);
    }
    let started = Instant::now();
    let c = Arc::new(count(state, from, to).await?);
    metrics::histogram!("yiwang_indicators_count_seconds").record(started.elapsed().as_secs_f64());
    cache.keep((from, to), c.clone());
    Ok(c)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The period asked for: China days, `from` ≤ `to` ≤ today, at most three
/// years; by default this year up to today.
pub(crate) fn period(q: &PeriodQuery) -> Result<(Date, Date), ApiError> {
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let parse = |name: &'static str, v: &Option<String>, default: Date| -> Result<Date, ApiError> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(s) => s
                .parse::<Date>()
                .map_err(|_| WebError::BadParam { name, detail: format!("须为日期 YYYY-MM-DD，收到 {s:?} / a date YYYY-MM-DD") }.into()),
        }
    };
    let to = parse("to", &q.to, today)?;
    let from = parse("from", &q.from, today.first_of_year())?;
    if to > today || from.year() < 2000 {
        return Err(WebError::BadParam {
            name: "to", detail: format!("须在 2000-01-01 至 {today} 之间 / between 2000-01-01 and today")
        }
        .into());
    }
    let days = (to - from).get_days();
    if from > to || i64::from(days) >= LONGEST {
        return Err(WebError::BadParam {
            name: "from",
            detail: format!("须不晚于 to，且期间不超过 {LONGEST} 天 / on or before to, at most {LONGEST} days"),
        }
        .into());
    }
    Ok((from, to))
}

/// One agency's or region's scores.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub code: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub division: String,
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubDefinition {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub formula_zh: &'static str,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DimensionDefinition {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub weight: f64,
    pub subs: Vec<SubDefinition>,
}

/// What a reader gets for a period.
#[derive(Debug, Clone, Serialize)]
pub struct Indicators {
    pub from: String,
    pub to: String,
    pub computed_at: String,
    /// The dimensions and sub-indicators with their formulas and weights in force.
    pub definitions: Vec<DimensionDefinition>,
    pub bands: [f64; 3],
    /// Everything the reader reads, pooled.
    pub total: Line,
    /// Divisions all of whose agencies the reader reads, each pooling them.
    pub regions: Vec<Line>,
    pub agencies: Vec<Line>,
}

fn definitions(w: &Weights) -> Vec<DimensionDefinition> {
    Dimension::ALL
        .into_iter()
        .map(|d| DimensionDefinition {
            code: d.code(),
            name_zh: d.name_zh(),
            weight: w.dimension(d),
            subs: Sub::ALL
                .into_iter()
                .filter(|s| s.dimension() == d)
                .map(|s| SubDefinition { code: s.code(), name_zh: s.name_zh(), formula_zh: s.formula_zh(), weight: w.of(s) })
                .collect(),
        })
        .collect()
}

/// A division and the divisions above it: 330106 → 330106, 330100, 330000.
fn with_ancestors(division: &str) -> Vec<String> {
    if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
        return vec![];
    }
    let mut v = vec![format!("{}0000", &division[..2]), format!("{}00", &division[..4]), division.to_string()];
    v.dedup();
    v
}

fn division_name(code: &str) -> String {
    code.parse::<u32>().ok().and_then(yiwang_codes::division::division_name).map_or_else(|| code.to_string(), str::to_string)
}

/// Score what `scope` reads of `c`.
fn scored(c: &Counted, scope: &Scope, w: &Weights) -> Indicators {
    let readable: Vec<(&String, &(String, String, Tally))> = c.agencies.iter().filter(|(uscc, _)| scope.reads(uscc)).collect();
    let mut total = Tally::default();
    let mut regions: BTreeMap<String, Tally> = BTreeMap::new();
    for (_, (_, division, t)) in &readable {
        total.add(t);
        for r in with_ancestors(division) {
            regions.entry(r).or_default().add(t);
        }
    }
    // A region is shown only when the reader reads every agency counted in it.
    let unread: BTreeSet<String> =
        c.agencies.iter().filter(|(uscc, _)| !scope.reads(uscc)).flat_map(|(_, (_, d, _))| with_ancestors(d)).collect();
    let regions = regions
        .into_iter()
        .filter(|(code, _)| !unread.contains(code))
        .map(|(code, t)| Line { name: division_name(&code), evaluation: evaluate(&t, w), division: String::new(), code })
        .collect();
    let agencies = readable
        .into_iter()
        .map(|(uscc, (name, division, t))| Line {
            code: uscc.clone(),
            name: name.clone(),
            division: division.clone(),
            evaluation: evaluate(t, w),
        })
        .collect();
    Indicators {
        from: c.from.to_string(),
        to: c.to.to_string(),
        computed_at: c.computed_at.clone(),
        definitions: definitions(w),
        bands: w.bands,
        total: Line { code: String::new(), name: "合计".into(), division: String::new(), evaluation: evaluate(&total, w) },
        regions,
        agencies,
    }
}

/// Score everything counted, as an administrator reads it.
pub fn scored_all(c: &Counted, w: &Weights) -> Indicators {
    scored(c, &Scope { all: true, supervised: BTreeMap::new(), headed: vec![] }, w)
}

async fn indicators(state: &AppState, auth: &Auth, q: &PeriodQuery) -> Result<Indicators, ApiError> {
    let p = auth.require()?;
    let (from, to) = period(q)?;
    let scope = Scope::of(state.store(), p).await?;
    let c = counted(state, from, to).await?;
    Ok(scored(&c, &scope, state.indicator_weights()))
}

/// `GET /api/v1/indicators?from=&to=`.
pub async fn api(State(state): State<AppState>, auth: Auth, Query(q): Query<PeriodQuery>) -> Result<Json<Indicators>, ApiError> {
    Ok(Json(indicators(&state, &auth, &q).await?))
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1}"))
}

/// A line as a table row: name, the five scores, the total and its grade.
fn row(l: &Line) -> Vec<String> {
    let mut r = vec![l.name.clone()];
    r.extend(l.evaluation.dimensions.iter().map(|d| shown(d.score)));
    r.push(shown(l.evaluation.total) + if l.evaluation.partial { "*" } else { "" });
    r.push(l.evaluation.grade_zh.unwrap_or("—").to_string());
    r
}

fn header_row(first: &str) -> Vec<String> {
    let mut h = vec![first.to_string()];
    h.extend(Dimension::ALL.iter().map(|d| d.name_zh().to_string()));
    h.push("总分".into());
    h.push("等级".into());
    h
}

/// The report as printed (`Template::TableReport`).
pub fn report_doc(i: &Indicators) -> yiwang_print::TableReportDoc {
    let mut sections = vec![yiwang_print::ReportTable { title: "总体".into(), header: header_row("范围"), rows: vec![row(&i.total)] }];
    if !i.regions.is_empty() {
        sections.push(yiwang_print::ReportTable {
            title: "按地区".into(),
            header: header_row("地区"),
            rows: i.regions.iter().map(row).collect(),
        });
    }
    sections.push(yiwang_print::ReportTable {
        title: "按部门".into(),
        header: header_row("部门"),
        rows: i.agencies.iter().map(row).collect(),
    });
    let mut subs = Vec::new();
    for d in &i.total.evaluation.dimensions {
        for s in &d.subs {
            subs.push(vec![
                d.name_zh.to_string(),
                s.name_zh.to_string(),
                format!("{}", s.weight),
                format!("{} / {}", trim(s.num), trim(s.den)),
                shown(s.value),
            ]);
        }
    }
    sections.push(yiwang_print::ReportTable {
        title: "总体分项指标".into(),
        header: ["维度", "分项指标", "权重", "分子 / 分母", "得分"].map(String::from).to_vec(),
        rows: subs,
    });
    let formulas = i
        .definitions
        .iter()
        .flat_map(|d| {
            d.subs.iter().map(move |s| vec![format!("{}（权重{}）", d.name_zh, d.weight), s.name_zh.to_string(), s.formula_zh.to_string()])
        })
        .collect();
    sections.push(yiwang_print::ReportTable {
        title: "指标口径".into(),
        header: ["维度", "分项指标", "计算方法"].map(String::from).to_vec(),
        rows: formulas,
    });
    let [a, b, c] = i.bands;
    yiwang_print::TableReportDoc {
        title: "一体化政务服务能力评估指标报告".into(),
        subtitle: format!("统计期间 {} 至 {} · 计算于 {}", i.from, i.to, i.computed_at),
        sections,
        notes: vec![
            "各维度得分为其分项指标（有数据者）的加权平均×100；总分为各维度得分的加权平均。".into(),
            format!("等级：非常高 ≥ {a}，高 ≥ {b}，中 ≥ {c}，其余为低。带 * 的总分有维度无数据、未计入。"),
            "地区得分按所辖部门的计数合并计算，而非部门得分的平均。".into(),
        ],
    }
}

/// A count as printed: whole numbers without decimals.
fn trim(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.2}") }
}

/// `GET /api/v1/indicators/report.pdf?from=&to=`.
pub async fn report_pdf(State(state): State<AppState>, auth: Auth, Query(q): Query<PeriodQuery>) -> Result<Response, ApiError> {
    let i = indicators(&state, &auth, &q).await?;
    let doc = report_doc(&i);
    let printer = state.catalog().printer().clone();
    let started = Instant::now();
    let pdf = tokio::task::spawn_blocking(move || printer.pdf(yiwang_print::Template::TableReport, &doc))
        .await
        .map_err(|_| ApiError::new(&WebError::Panic))??;
    metrics::histogram!("yiwang_indicators_pdf_seconds").record(started.elapsed().as_secs_f64());
    let disposition = format!("inline; filename=\"indicators-{}-{}.pdf\"", i.from, i.to);
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], pdf).into_response())
}

struct PageLine {
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "console_indicators.html")]
struct IndicatorsPage {
    l: Layout,
    from: String,
    to: String,
    computed_at: String,
    chart: String,
    header: Vec<String>,
    total: PageLine,
    regions: Vec<PageLine>,
    agencies: Vec<PageLine>,
    subs: Vec<PageLine>,
    bands: String,
    query: String,
}

/// `GET /console/indicators?from=&to=`.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<PeriodQuery>) -> Result<Response, ApiError> {
    let i = indicators(&state, &auth, &q).await?;
    let bars = i.total.evaluation.dimensions.iter().map(|d| (d.name_zh.to_string(), d.score)).collect();
    let chart = BarChart { id: "dimensions", title: "五个维度得分（合计）", unit: "分", bars, max: Some(100.0) }.svg();
    let subs = i
        .total
        .evaluation
        .dimensions
        .iter()
        .flat_map(|d| {
            d.subs.iter().map(move |s| PageLine {
                cells: vec![
                    d.name_zh.to_string(),
                    s.name_zh.to_string(),
                    format!("{}", s.weight),
                    format!("{} / {}", trim(s.num), trim(s.den)),
                    shown(s.value),
                    Sub::parse(s.code).map_or("", Sub::formula_zh).to_string(),
                ],
            })
        })
        .collect();
    let [a, b, c] = i.bands;
    let query = format!("from={}&to={}", i.from, i.to);
    let page = IndicatorsPage {
        l: Layout::new(&state, &auth, "评估指标").await,
        chart,
        header: header_row("名称"),
        total: PageLine { cells: row(&i.total) },
        regions: i.regions.iter().map(|l| PageLine { cells: row(l) }).collect(),
        agencies: i.agencies.iter().map(|l| PageLine { cells: row(l) }).collect(),
        subs,
        bands: format!("非常高 ≥ {a}，高 ≥ {b}，中 ≥ {c}，其余为低"),
        from: i.from,
        to: i.to,
        computed_at: i.computed_at,
        query,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisions_pool_under_their_city_and_province() {
        assert_eq!(with_ancestors("330106"), ["330000", "330100", "330106"]);
        assert_eq!(with_ancestors("330100"), ["330000", "330100"]);
        assert_eq!(with_ancestors("330000"), ["330000"]);
        assert!(with_ancestors("").is_empty());
    }

    #[test]
    fn a_period_is_bounded() {
        let q = |from: &str, to: &str| PeriodQuery { from: Some(from.into()), to: Some(to.into()) };
        assert!(period(&q("2026-01-01", "2026-06-30")).is_ok());
        assert!(period(&q("2026-06-30", "2026-01-01")).is_err());
        assert!(period(&q("1999-12-31", "2000-06-30")).is_err());
        assert!(period(&q("2020-01-01", "2026-01-01")).is_err());
        assert!(period(&q("2026-13-01", "2026-12-01")).is_err());
        assert!(period(&q("2026-01-01", "2999-01-01")).is_err());
        assert!(period(&PeriodQuery { from: None, to: None }).is_ok());
    }
}
