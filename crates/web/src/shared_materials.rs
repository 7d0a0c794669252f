//! 免提交 made real (issue 21): a material an item sources from a data
//! resource is fetched under a grant when the application is opened, handed
//! in or reviewed, and the case records what came back with its provenance
//! (`Event::SharedDataFetched`: resource, provider, answering node, message,
//! grant). A provider on this node is read directly under its own grants; a
//! provider on another node through `sharing/fetch/v1`, under a grant this
//! node's agency holds (`Store::held_grants`). Nothing usable: the case says
//! why, and the applicant uploads the material.

use std::collections::BTreeMap;

use serde_json::json;
use yiwang_case::materials::ProvidedBy;
use yiwang_case::{Envelope, Event};
use yiwang_catalog::MaterialSource;
use yiwang_exchange::{ClientId, NodeId, User};
use yiwang_store::CaseRow;

use crate::exchange::{BaseDataAnswer, BaseDataAsk, BaseTable, CallError, DataFetch, Reader, read_under_grant};
use crate::{ApiError, AppState};

/// Which of a case's shared materials to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Those nothing provides yet (when the application is opened or handed in).
    Missing,
    /// Those not uploaded, attached or committed: a reviewer refreshing the data.
    All,
}

/// What one resource gave for the case's applicant.
#[derive(Debug, Clone, Default)]
struct Fetched {
    provider: String,
    node: String,
    msg_id: String,
    grant: String,
    data: serde_json::Map<String, serde_json::Value>,
    unavailable: Option<&'static str>,
    labels: Option<yiwang_case::SharedLabels>,
}

impl Fetched {
    fn unavailable(provider: &str, code: &'static str) -> Fetched {
        Fetched { provider: provider.to_string(), unavailable: Some(code), ..Fetched::default() }
    }

    fn from_answer(provider: &str, node: &str, msg_id: &str, a: BaseDataAnswer) -> Fetched {
        if !a.found || a.data.is_empty() {
            return Fetched { grant: a.grant, ..Fetched::unavailable(provider, "not_found") };
        }
        Fetched {
            provider: provider.to_string(),
            node: node.to_string(),
            msg_id: msg_id.to_string(),
            grant: a.grant,
            data: a.data,
            unavailable: None,
            labels: a.labels,
        }
    }
}

/// The member an agency of this node is on the exchange: `{instance}/GOV/{USCC}`.
fn member_of(state: &AppState, agency_uscc: &str) -> String {
    let instance = state.exchange().map_or("CN", |rt| rt.settings().anchor_instance.as_str());
    format!("{instance}/GOV/{agency_uscc}")
}

/// Where a material's data comes from: a data resource by its catalog code,
/// or whichever 电子证照库 on another node gives a license of a type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Resource(String),
    License(String),
}

/// Fetch the case's shared materials (`which`) from their resources and
/// record what came back, one `SharedDataFetched` per material (a resource
/// named by several materials is asked once). The case must be visible to
/// the caller, who is `actor`. Returns how many events were written. A
/// failure to reach a provider is recorded, never raised: the case stands.
pub async fn fetch_shared_materials(state: &AppState, c: &CaseRow, actor: &str, which: Which) -> Result<usize, ApiError> {
    if !c.state.before_decision() {
        return Ok(0);
    }
    let Some(doc) = state.store().filed_item(&c.item_code, c.item_version).await? else { return Ok(0) };
    let statuses = yiwang_store::material_statuses(&doc, c);
    let wanted: Vec<(String, Source)> = doc
        .materials
        .iter()
        .zip(&statuses)
        .filter_map(|(m, st)| {
            let source = match &m.source {
                MaterialSource::Shared { resource } => Source::Resource(resource.clone()),
                MaterialSource::License { license_type } => Source::License(license_type.clone()),
                MaterialSource::Applicant => return None,
            };
            // A license attached here is not asked for elsewhere.
            let from_elsewhere = c.case.shared_fetched(&m.name);
            let open = match which {
                Which::Missing => st.provided_by == ProvidedBy::Missing && st.uploads.is_empty(),
                Which::All => {
                    st.uploads.is_empty()
                        && (st.provided_by == ProvidedBy::Missing
                            || st.provided_by == ProvidedBy::Shared
                            || (st.provided_by == ProvidedBy::License && from_elsewhere))
                }
            };
            open.then(|| (m.name.clone(), source))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let calendar = state.store().load_calendar().await?;
    let mut answers: BTreeMap<Source, Option<(String, Fetched)>> = BTreeMap::new();
    let mut written = 0;
    for (material, source) in wanted {
        if !answers.contains_key(&source) {
            let purpose = &doc.implementation_code;
            let f = match &source {
                Source::Resource(resource) => Some((resource.clone(), fetch(state, c, purpose, resource, actor).await?)),
                Source::License(license_type) => fetch_license(state, c, purpose, license_type, actor).await?,
            };
            answers.insert(source.clone(), f);
        }
        // No 电子证照库 holds a grant for the type: the applicant uploads, as ever.
        let Some(Some((resource, f))) = answers.get(&source) else { continue };
        let event = Event::SharedDataFetched {
            material: material.clone(),
            resource: resource.clone(),
            provider: f.provider.clone(),
            node: f.node.clone(),
            msg_id: f.msg_id.clone(),
            grant: f.grant.clone(),
            data: f.data.clone(),
            unavailable: f.unavailable.map(str::to_string),
            labels: f.labels.clone(),
        };
        let envelope = Envelope { at: jiff::Timestamp::now(), actor: actor.to_string(), reason: String::new(), event };
        match state.store().record_case_event(&c.case_no, &envelope, None, &calendar).await {
            Ok(_) => written += 1,
            // The case moved on meanwhile (decided, withdrawn): nothing to record.
            Err(yiwang_store::CaseStoreError::Case(e)) => {
                tracing::info!(case = %c.case_no, %material, error = %e, "shared data not recorded");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(written)
}

/// Ask one resource for the applicant's data, for the case's item (the
/// purpose) and the case (the issue): on this node under its own grants,
/// else on the provider's node under a grant the case's agency holds.
async fn fetch(state: &AppState, c: &CaseRow, purpose: &str, resource: &str, actor: &str) -> Result<Fetched, ApiError> {
    let store = state.store();
    let local = store.shared_resource(resource).await?;
    let provider = local.as_ref().map(|r| r.provider_uscc.clone()).unwrap_or_default();
    // Held data only for an opener who reaches the applicant's data (as for held licenses).
    if !c.assured {
        return Ok(Fetched::unavailable(&provider, "not_assured"));
    }
    let consumer = member_of(state, &c.agency_uscc);
    if let Some(r) = local {
        let Some(table) = BaseTable::of(r.sharing.service.as_deref()) else {
            return Ok(Fetched::unavailable(&provider, "not_served"));
        };
        let fits = match table {
            BaseTable::Persons => c.applicant.id_type == "111",
            BaseTable::Enterprises => c.applicant.id_type == "049",
            BaseTable::Credit | BaseTable::Licenses => true,
        };
        if !fits {
            return Ok(Fetched::unavailable(&provider, "subject_type"));
        }
        let node = state.exchange().map_or_else(|| "local".to_string(), |rt| rt.node().to_string());
        let reader =
            Reader { consumer: &consumer, peer_node: &node, operator: actor, purpose: Some(purpose), issue: Some(&c.case_no), msg_id: "" };
        let ask = BaseDataAsk { subject: c.applicant.id.clone(), fields: r.sharing.item_names() };
        let mut tx = store.begin().await?;
        // A refusal is logged too: the transaction commits either way.
        let answer = read_under_grant(store, r, table, &ask, &reader, &mut tx).await;
        tx.commit().await?;
        return Ok(match answer {
            Ok(a) => Fetched::from_answer(&provider, &node, "", a),
            Err(yiwang_exchange::ExchangeError::AccessDenied) => Fetched::unavailable(&provider, "access_denied"),
            Err(e) => {
                tracing::warn!(case = %c.case_no, resource, error = %e, "reading shared data on this node failed");
                Fetched::unavailable(&provider, "failed")
            }
        });
    }
    let held = store.held_grants(resource).await?;
    let ours: Vec<_> = held.iter().filter(|a| ClientId::parse(&a.consumer).is_ok_and(|id| id.member() == consumer)).collect();
    // The grant asked for this purpose, else any the agency holds (the provider decides).
    let for_purpose = ours.iter().find(|a| a.application.purposes.is_empty() || a.application.purposes.iter().any(|p| p == purpose));
    let Some(app) = for_purpose.or(ours.first()) else {
        return Ok(Fetched::unavailable("", "no_grant"));
    };
    let body = json!({ "resource": resource, "subject": c.applicant.id });
    fetch_remote(state, c, purpose, app, body, actor).await
}

/// A license the applicant does not hold on this node, from another node's
/// 电子证照库 (a resource served by `base-data/license/v1`, whose items are
/// license types), under a grant the case's agency holds for the type. The
/// node of the applicant's own region is asked first (an ID's, a USCC's
/// division); the first that has one gives it. None: no grant covers the
/// type, so nothing was asked.
async fn fetch_license(
    state: &AppState,
    c: &CaseRow,
    purpose: &str,
    license_type: &str,
    actor: &str,
) -> Result<Option<(String, Fetched)>, ApiError> {
    let consumer = member_of(state, &c.agency_uscc);
    let item = license_type.to_lowercase();
    let held = state.store().held_grants_covering(&item).await?;
    let mut ours: Vec<_> = held.iter().filter(|a| ClientId::parse(&a.consumer).is_ok_and(|id| id.member() == consumer)).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    if !c.assured {
        return Ok(Some((ours[0].resource_code.clone(), Fetched::unavailable("", "not_assured"))));
    }
    let region = yiwang_store::subject_division(&c.applicant.id_type, &c.applicant.id);
    let home = |a: &yiwang_store::SharingApplicationRow| {
        NodeId::parse(&a.provider_node).is_ok_and(|n| {
            let division = n.division().trim_end_matches("00");
            !division.is_empty() && region.starts_with(division)
        })
    };
    ours.sort_by_key(|a| !home(a));
    // Each 电子证照库 once (the first grant met, home first), at most a few: each
    // is a round trip while the person waits.
    let mut asked = std::collections::BTreeSet::new();
    ours.retain(|a| asked.insert(a.resource_code.as_str()));
    let mut last = None;
    for app in ours.into_iter().take(MAX_LICENSE_LIBRARIES) {
        let body = json!({ "resource": app.resource_code, "subject": c.applicant.id, "fields": [item] });
        let f = fetch_remote(state, c, purpose, app, body, actor).await?;
        let found = f.unavailable.is_none();
        last = Some((app.resource_code.clone(), f));
        if found {
            break;
        }
    }
    Ok(last)
}

/// How many 电子证照库 on other nodes one license-sourced material asks.
const MAX_LICENSE_LIBRARIES: usize = 3;

/// One fetch over the exchange under a held grant (`app`), with `body` for `sharing/fetch/v1`.
async fn fetch_remote(
    state: &AppState,
    c: &CaseRow,
    purpose: &str,
    app: &yiwang_store::SharingApplicationRow,
    body: serde_json::Value,
    actor: &str,
) -> Result<Fetched, ApiError> {
    let store = state.store();
    let resource = app.resource_code.as_str();
    let provider = ClientId::parse(&app.provider_member).map(|m| m.uscc().to_string()).unwrap_or_default();
    let (Some(rt), Ok(from), Ok(to), Ok(member)) =
        (state.exchange(), ClientId::parse(&app.consumer), NodeId::parse(&app.provider_node), ClientId::parse(&app.provider_member))
    else {
        return Ok(Fetched::unavailable(&provider, "unreachable"));
    };
    let service = format!("{}/sharing/fetch/v1", member.member());
    let fetch = DataFetch {
        from: &from,
        provider: &to,
        service: &service,
        user: User { id: actor.to_string(), purpose: purpose.to_string(), issue: Some(c.case_no.clone()) },
        subject: &c.applicant.id,
        body,
    };
    Ok(match rt.fetch_base_data(store, fetch).await {
        Ok((a, msg_id)) => Fetched::from_answer(&provider, to.as_str(), &msg_id, a),
        Err(CallError::Answered { code, .. }) if code == "gx.access_denied" => Fetched::unavailable(&provider, "access_denied"),
        Err(CallError::Answered { code, .. }) if code == "gx.unknown_service" => Fetched::unavailable(&provider, "not_served"),
        Err(CallError::Store(e)) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(case = %c.case_no, resource, node = %to, error = ?e, "fetching shared data from another node failed");
            Fetched::unavailable(&provider, "unreachable")
        }
    })
}

/// A case just opened, with its shared materials fetched: the case as it
/// stands after. The case is written already, so a failure here is logged
/// and the case returned as it was (handing in tries again).
pub async fn opened(state: &AppState, c: CaseRow, actor: &str) -> CaseRow {
    match fetch_shared_materials(state, &c, actor, Which::Missing).await {
        Ok(0) => c,
        Ok(_) => state.store().case(&c.case_no).await.unwrap_or(c),
        Err(e) => {
            tracing::warn!(case = %c.case_no, error = e.message_zh(), "fetching shared materials failed");
            c
        }
    }
}

/// Before an application (or its correction) is handed in: fetch again what
/// is still missing. Returns the version to expect, moved past what this
/// wrote when the caller's expectation held (a stale one stays stale).
pub async fn before_hand_in(state: &AppState, case_no: &str, actor: &str, expected: Option<i64>) -> Result<Option<i64>, ApiError> {
    let c = state.store().case(case_no).await?;
    if expected.is_some_and(|v| v != c.version) {
        return Ok(expected);
    }
    let written = fetch_shared_materials(state, &c, actor, Which::Missing).await?;
    Ok(expected.map(|v| v + written as i64))
}

/// A 一件事 application's children, each with its shared materials fetched
/// (after it is opened, or before it is handed in): the application as it
/// stands after. Failures are logged; handing in checks what is missing.
pub async fn bundle_fetched(state: &AppState, b: yiwang_store::BundleCase, actor: &str) -> yiwang_store::BundleCase {
    let mut written = 0;
    for child in &b.children {
        match fetch_shared_materials(state, child, actor, Which::Missing).await {
            Ok(n) => written += n,
            Err(e) => tracing::warn!(case = %child.case_no, error = e.message_zh(), "fetching shared materials failed"),
        }
    }
    if written == 0 {
        return b;
    }
    state.store().bundle_case(&b.bundle_no).await.unwrap_or(b)
}

/// How a case's shared material reads on its pages: what came back and from
/// where, or why the applicant must upload it.
pub struct SharedLine {
    pub material: String,
    /// 来源: the resource, the providing agency, the answering node, when,
    /// the grant and the message.
    pub provenance: String,
    /// The information items that came back (label, value).
    pub items: Vec<(String, String)>,
    /// Why nothing came (in the applicant's words); none when fetched.
    pub unavailable_zh: Option<String>,
}

/// The case's shared data as its pages show it; identifiers masked unless
/// `reveal` (the applicant themself, or staff who gave a reason).
pub async fn shared_lines(state: &AppState, c: &CaseRow, reveal: bool) -> Result<Vec<SharedLine>, ApiError> {
    let mut out = Vec::with_capacity(c.case.shared.len());
    for s in &c.case.shared {
        let described = state.store().shared_resource(&s.resource).await?;
        // This node's description first, else the provider's names that came with the data.
        let given = s.labels.as_ref();
        let label = |name: &str| {
            described
                .as_ref()
                .and_then(|r| r.sharing.items.iter().find(|i| i.name == name))
                .map(|i| i.label.clone())
                .or_else(|| given.and_then(|l| l.items.get(name)).cloned())
                .unwrap_or_else(|| name.to_string())
        };
        let provider = match state.store().agency(&s.provider).await? {
            Some(a) => a.name,
            None => match given.map(|l| l.provider_name.clone()).filter(|n| !n.is_empty()) {
                Some(name) => name,
                None if s.provider.is_empty() => "未知部门".to_string(),
                None => s.provider.clone(),
            },
        };
        let resource = match (&described, given.filter(|l| !l.resource_name.is_empty())) {
            (Some(r), _) => format!("{}（{}）", r.name, r.code),
            (None, Some(l)) => format!("{}（{}）", l.resource_name, s.resource),
            (None, None) => s.resource.clone(),
        };
        let shown = |v: &serde_json::Value| {
            let text = license_line(v).or_else(|| v.as_str().map(str::to_string)).unwrap_or_else(|| v.to_string());
            if reveal { text } else { yiwang_codes::mask_identifiers_in(&text) }
        };
        // A 电子证照库's items are license types: named by the type where this node knows it.
        let mut labels = BTreeMap::new();
        for (k, v) in &s.data {
            if license_line(v).is_some()
                && let Ok(t) = state.store().license_type(&k.to_uppercase()).await
            {
                labels.insert(k.clone(), t.name);
            }
        }
        let when = crate::pages::china_time(&yiwang_store::ts(s.at));
        let provenance = if s.fetched() {
            let via = if s.msg_id.is_empty() {
                "本节点直接读取".to_string()
            } else {
                format!("经节点 {} 交换，报文 {}", s.node, s.msg_id)
            };
            format!("{resource}，{provider}提供；{when}获取，共享授权 {}，{via}", s.grant)
        } else {
            format!("{resource}，{provider}；{when}尝试获取")
        };
        out.push(SharedLine {
            material: s.material.clone(),
            provenance,
            items: s.data.iter().map(|(k, v)| (labels.get(k).cloned().unwrap_or_else(|| label(k)), shown(v))).collect(),
            unavailable_zh: s.unavailable.as_deref().map(|u| yiwang_case::materials::unavailable_zh(u).to_string()),
        });
    }
    Ok(out)
}

/// A license a 电子证照库 gave, in words: its number, holder and validity.
fn license_line(v: &serde_json::Value) -> Option<String> {
    let id = v.get("license_id")?.as_str()?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default();
    let until = v.get("valid_until").and_then(|x| x.as_str()).unwrap_or("长期");
    Some(format!(
        "证照编号 {}，持证主体 {}，有效期 {} 至 {until}（证照标识 {id}）",
        text("number"),
        text("holder_name"),
        text("valid_from")
    ))
}

/// Ask the case's resources again for a reviewer: every shared material
/// not uploaded, attached or committed. Returns the case after.
async fn refetch(state: &AppState, auth: &crate::auth::Auth, no: &str) -> Result<(CaseRow, usize), ApiError> {
    let p = auth.require()?;
    let c = crate::cases::visible_case(state, p, no).await?;
    if !p.has_role_in(&c.agency_uscc, crate::cases::CASE_HANDLERS) {
        return Err(crate::error::forbidden("only staff handling the case in its agency may fetch its shared data"));
    }
    if !c.state.before_decision() {
        return Err(crate::WebError::BadParam {
            name: "case",
            detail: "办件已作出决定，不再调取共享数据 / the case is decided: its shared data is no longer fetched".into(),
        }
        .into());
    }
    let written = fetch_shared_materials(state, &c, &p.account_id, Which::All).await?;
    Ok((state.store().case(no).await?, written))
}

/// `POST /api/v1/cases/{no}/shared-data` (staff handling the case): fetch its
/// shared materials again; the records as the case keeps them, identifiers masked.
pub async fn refetch_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: crate::auth::Auth,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let (c, written) = refetch(&state, &auth, &no).await?;
    let p = auth.require()?;
    crate::personal::audit_staff_read(&state, p, &c, "shared_data", None).await?;
    let shared = serde_json::to_value(&c.case.shared).unwrap_or_default();
    Ok(axum::Json(json!({ "recorded": written, "shared": crate::personal::masked(&shared) })))
}

/// `POST /console/cases/{no}/shared-data`: the workbench's 重新调取共享数据.
pub async fn refetch_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: crate::auth::Auth,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> axum::response::Response {
    match refetch(&state, &auth, &no).await {
        Ok((c, _)) => crate::auth::see_other(&format!("/console/cases/{}?done=shared_data", c.case_no)),
        Err(e) => {
            crate::pages::problem_page(&state, &auth, "调取共享数据", e, Some((format!("/console/cases/{no}"), "返回办件".into()))).await
        }
    }
}
