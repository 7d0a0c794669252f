//! The leaders' statistics (issue 22): the last twelve months of the agencies
//! the reader reads (the supervision `Scope`): applications, 网办率, 按时办结率
//! and 好评率, each as an SVG chart with the same figures in a table; then the
//! same figures by agency and by item over a period the reader chooses.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::auth::Auth;
use crate::charts::BarChart;
use crate::indicators::{PeriodQuery, period};
use crate::pages::{Layout, render};
use crate::supervision_orders::Scope;
use crate::{ApiError, AppState};
use yiwang_supervision::indicators::{CaseCounts, RatingCounts};
use yiwang_supervision::public::percent;

/// One agency's or item's figures over the chosen period.
struct PeriodLine {
    name: String,
    /// The agency, on an item's line.
    agency: String,
    applications: i64,
    online_rate: String,
    concluded: i64,
    on_time_rate: String,
    ratings: i64,
    good_rate: String,
}

impl PeriodLine {
    fn new(name: String, agency: String, c: &CaseCounts, r: &RatingCounts) -> PeriodLine {
        PeriodLine {
            name,
            agency,
            applications: c.applications,
            online_rate: shown(percent(c.online, c.applications)),
            concluded: c.concluded,
            on_time_rate: shown(percent(c.on_time, c.concluded)),
            ratings: r.ratings,
            good_rate: shown(percent(r.good, r.ratings)),
        }
    }
}

/// Items shown by applications, most first.
const TOP_ITEMS: usize = 50;

struct MonthLine {
    label: String,
    applications: i64,
    online_rate: String,
    on_time_rate: String,
    ratings: i64,
    good_rate: String,
}

#[derive(Template)]
#[template(path = "console_statistics.html")]
struct StatisticsPage {
    l: Layout,
    scope_zh: String,
    charts: Vec<String>,
    months: Vec<MonthLine>,
    from: String,
    to: String,
    period_charts: Vec<String>,
    by_agency: Vec<PeriodLine>,
    by_item: Vec<PeriodLine>,
    items_total: usize,
}

/// The twelve China months up to this one, as `YYYYMM`, oldest first.
fn last_twelve_months(today: jiff::civil::Date) -> Vec<String> {
    let mut out = Vec::with_capacity(12);
    let (mut y, mut m) = (i32::from(today.year()), i32::from(today.month()));
    for _ in 0..12 {
        out.push(format!("{y:04}{m:02}"));
        m -= 1;
        if m == 0 {
            m = 12;
            y -= 1;
        }
    }
    out.reverse();
    out
}

fn shown(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{r:.1}%"))
}

/// `GET /console/statistics`.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<PeriodQuery>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let (from, to) = period(&q)?;
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let agencies: Vec<String> = match scope.readable() {
        Some(list) => list,
        None => store.agencies().await?.into_iter().map(|a| a.uscc).collect(),
    };
    let scope_zh = if scope.readable().is_none() { "全部部门".to_string() } else { format!("{} 个部门", agencies.len()) };
    let now = jiff::Timestamp::now();
    let months = last_twelve_months(yiwang_calendar::china_today(now));
    let (first, last) = (months[0].clone(), months[11].clone());
    let cases = store.monthly_cases(&agencies, &first, &last).await?;
    let since = format!("{}-{}-01T00:00:00.000000Z", &first[..4], &first[4..]);
    let ratings = store.monthly_ratings(&agencies, &since).await?;
    let mut lines = Vec::new();
    let (mut apps, mut online, mut on_time, mut good) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in &months {
        let c = cases.iter().find(|c| &c.month == m).cloned().unwrap_or_default();
        let (n, g) = ratings.iter().find(|r| &r.0 == m).map_or((0, 0), |r| (r.1, r.2));
        let label = format!("{}月", m[4..].trim_start_matches('0'));
        apps.push((label.clone(), Some(c.applications as f64)));
        online.push((label.clone(), percent(c.online, c.applications)));
        on_time.push((label.clone(), percent(c.on_time, c.concluded)));
        good.push((label.clone(), percent(g, n)));
        lines.push(MonthLine {
            label: format!("{}年{}", &m[..4], label),
            applications: c.applications,
            online_rate: shown(percent(c.online, c.applications)),
            on_time_rate: shown(percent(c.on_time, c.concluded)),
            ratings: n,
            good_rate: shown(percent(g, n)),
        });
    }
    let charts = vec![
        BarChart { id: "applications", title: "每月申请件数", unit: "件", bars: apps, max: None }.svg(),
        BarChart { id: "online", title: "网办率（网上申请占比）", unit: "%", bars: online, max: Some(100.0) }.svg(),
        BarChart { id: "on-time", title: "按时办结率", unit: "%", bars: on_time, max: Some(100.0) }.svg(),
        BarChart { id: "good", title: "好评率", unit: "%", bars: good, max: Some(100.0) }.svg(),
    ];
    // By agency and by item over the chosen period.
    let names: std::collections::BTreeMap<String, String> = store.agencies().await?.into_iter().map(|a| (a.uscc, a.name)).collect();
    let name_of = |uscc: &str| names.get(uscc).cloned().unwrap_or_else(|| uscc.to_string());
    let by_agency_counts = store.indicator_counts(&agencies, from, to).await?;
    let by_agency: Vec<PeriodLine> =
        by_agency_counts.iter().map(|(uscc, (c, r))| PeriodLine::new(name_of(uscc), String::new(), c, r)).collect();
    let mut items = store.item_counts(&agencies, from, to).await?;
    items.sort_by(|a, b| b.3.applications.cmp(&a.3.applications).then_with(|| a.1.cmp(&b.1)));
    let items_total = items.len();
    let by_item: Vec<PeriodLine> = items
        .iter()
        .take(TOP_ITEMS)
        .map(|(code, name, agency, c, r)| PeriodLine::new(if name.is_empty() { code.clone() } else { name.clone() }, name_of(agency), c, r))
        .collect();
    let period_charts = vec![
        BarChart {
            id: "agency-apps",
            title: "各部门申请件数",
            unit: "件",
            bars: by_agency_counts.iter().map(|(u, (c, _))| (name_of(u), Some(c.applications as f64))).collect(),
            max: None,
        }
        .svg_rows(),
        BarChart {
            id: "agency-on-time",
            title: "各部门按时办结率",
            unit: "%",
            bars: by_agency_counts.iter().map(|(u, (c, _))| (name_of(u), percent(c.on_time, c.concluded))).collect(),
            max: Some(100.0),
        }
        .svg_rows(),
        BarChart {
            id: "item-apps",
            title: "申请件数最多的事项（前十）",
            unit: "件",
            bars: by_item.iter().take(10).map(|l| (l.name.clone(), Some(l.applications as f64))).collect(),
            max: None,
        }
        .svg_rows(),
    ];
    let page = StatisticsPage {
        l: Layout::new(&state, &auth, "统计分析").await,
        scope_zh,
        charts,
        months: lines,
        from: from.to_string(),
        to: to.to_string(),
        period_charts,
        by_agency,
        by_item,
        items_total,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_end_with_this_one_across_the_year() {
        let m = last_twelve_months(jiff::civil::date(2026, 3, 15));
        assert_eq!(m.len(), 12);
        assert_eq!((m[0].as_str(), m[9].as_str(), m[11].as_str()), ("202504", "202601", "202603"));
    }
}
