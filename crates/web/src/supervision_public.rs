//! 监察结果公开 (issue 22): the public page and API with each agency's and
//! region's 办结率, 按时办结率, 超期件数, 好评率 and 督办按期办结率 for a year. Counts
//! only: no case, no person. The figures are computed at most once every
//! five minutes per year (`PublicCache`), so the page costs the database
//! nothing per visitor.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use yiwang_supervision::public::{Counts, region_of};

use crate::auth::Auth;
use crate::pages::{Layout, render};
use crate::{ApiError, AppState, WebError};

/// How long computed figures are served before they are computed again.
const FRESH_FOR: Duration = Duration::from_secs(300);

/// The figures of one agency or region.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub code: String,
    pub name: String,
    /// The region an agency reports under (none for a region's own line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub concluded_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub orders_on_time_rate: Option<f64>,
    pub good_rate: Option<f64>,
}

impl Line {
    fn new(code: String, name: String, region: Option<String>, counts: Counts) -> Line {
        Line {
            concluded_rate: counts.concluded_rate(),
            on_time_rate: counts.on_time_rate(),
            orders_on_time_rate: counts.orders_on_time_rate(),
            good_rate: counts.good_rate(),
            code,
            name,
            region,
            counts,
        }
    }
}

/// A year's figures, as served.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub year: i16,
    pub computed_at: String,
    pub total: Line,
    pub regions: Vec<Line>,
    pub agencies: Vec<Line>,
}

/// Figures per year, each kept for [`FRESH_FOR`].
#[derive(Default)]
pub struct PublicCache(Mutex<HashMap<i16, (Instant, Arc<Figures>)>>);

impl PublicCache {
    fn fresh(&self, year: i16) -> Option<Arc<Figures>> {
        let held = self.0.lock().ok()?;
        held.get(&year).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, f)| f.clone())
    }

    fn keep(&self, year: i16, f: Arc<Figures>) {
        if let Ok(mut held) = self.0.lock() {
            held.insert(year, (Instant::now(), f));
        }
    }
}

fn name_of_division(code: &str) -> String {
    code.parse::<u32>().ok().and_then(yiwang_codes::division::division_name).map_or_else(|| code.to_string(), str::to_string)
}

/// Compute a year's figures from the store.
pub async fn compute(state: &AppState, year: i16) -> Result<Figures, ApiError> {
    let store = state.store();
    let now = jiff::Timestamp::now();
    let today = yiwang_calendar::china_today(now).to_string();
    let counts = store.public_counts(year, &today).await?;
    let agencies: BTreeMap<String, yiwang_store::Agency> = store.agencies().await?.into_iter().map(|a| (a.uscc.clone(), a)).collect();
    let mut total = Counts::default();
    let mut regions: BTreeMap<String, Counts> = BTreeMap::new();
    let mut lines = Vec::new();
    for (uscc, c) in counts {
        let (name, region) = match agencies.get(&uscc) {
            Some(a) => (a.name.clone(), region_of(&a.division_code)),
            None => (uscc.clone(), String::new()),
        };
        total.add(&c);
        regions.entry(region.clone()).or_default().add(&c);
        lines.push(Line::new(uscc, name, Some(region), c));
    }
    lines.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
    let regions = regions.into_iter().map(|(code, c)| Line::new(code.clone(), name_of_division(&code), None, c)).collect();
    Ok(Figures {
        year,
        computed_at: crate::pages::china_time(&yiwang_store::ts(now)),
        total: Line::new(String::new(), "合计".into(), None, total),
        regions,
        agencies: lines,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    pub year: Option<i16>,
}

/// The year asked for: 2000 to this year (China time), this year by default.
fn year_of(q: &YearQuery) -> Result<(i16, i16), ApiError> {
    let this = yiwang_calendar::china_today(jiff::Timestamp::now()).year();
    let year = q.year.unwrap_or(this);
    if !(2000..=this).contains(&year) {
        return Err(WebError::BadParam { name: "year", detail: format!("2000–{this}") }.into());
    }
    Ok((year, this))
}

async fn figures(state: &AppState, year: i16) -> Result<Arc<Figures>, ApiError> {
    if let Some(f) = state.public_figures().fresh(year) {
        return Ok(f);
    }
    let f = Arc::new(compute(state, year).await?);
    state.public_figures().keep(year, f.clone());
    Ok(f)
}

/// `GET /api/v1/supervision/public?year=`: the year's figures (anyone).
pub async fn public_api(State(state): State<AppState>, Query(q): Query<YearQuery>) -> Result<Json<Figures>, ApiError> {
    let (year, _) = year_of(&q)?;
    Ok(Json(figures(&state, year).await?.as_ref().clone()))
}

/// A rate as the page prints it.
fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{r:.1}%"))
}

struct PageLine {
    name: String,
    accepted: i64,
    concluded: i64,
    concluded_rate: String,
    on_time_rate: String,
    overdue: i64,
    orders_closed: i64,
    orders_on_time_rate: String,
    ratings: i64,
    good_rate: String,
}

impl From<&Line> for PageLine {
    fn from(l: &Line) -> Self {
        PageLine {
            name: l.name.clone(),
            accepted: l.counts.accepted,
            concluded: l.counts.concluded,
            concluded_rate: rate(l.concluded_rate),
            on_time_rate: rate(l.on_time_rate),
            overdue: l.counts.overdue,
            orders_closed: l.counts.orders_closed,
            orders_on_time_rate: rate(l.orders_on_time_rate),
            ratings: l.counts.ratings,
            good_rate: rate(l.good_rate),
        }
    }
}

#[derive(Template)]
#[template(path = "supervision_public.html")]
struct PublicPage {
    l: Layout,
    year: i16,
    years: Vec<i16>,
    computed_at: String,
    total: PageLine,
    regions: Vec<PageLine>,
    agencies: Vec<PageLine>,
}

/// `GET /supervision/public?year=`: the page.
pub async fn public_page(State(state): State<AppState>, auth: Auth, Query(q): Query<YearQuery>) -> Result<Response, ApiError> {
    let (year, this) = year_of(&q)?;
    let f = figures(&state, year).await?;
    let page = PublicPage {
        l: Layout::new(&state, &auth, "政务服务监察结果公开").await,
        year,
        years: (this.saturating_sub(4).max(2000)..=this).rev().collect(),
        computed_at: f.computed_at.clone(),
        total: PageLine::from(&f.total),
        regions: f.regions.iter().map(PageLine::from).collect(),
        agencies: f.agencies.iter().map(PageLine::from).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}
