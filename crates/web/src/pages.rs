//! Server-rendered pages: the node's front door, login, registration with
//! phone/email verification, the account page (acting-as switch, enterprise
//! accounts, logout everywhere) and the staff console entry.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use yiwang_codes::{CitizenId, Uscc};
use yiwang_errors::Coded;
use yiwang_identity::{
    Acting, IdentityError, PasswordPolicy, Principal, RealNameLevel, StaffRole, check_password_strength, hash_password, mask_email,
    mask_phone, verification_code, verify_password,
};
use yiwang_store::{AccountStatus, Attempt, EnterpriseRole, NewAccount, NodeRegion, RegistrationCheck, ThrottlePolicy};

use crate::auth::{Auth, SESSION_COOKIE, cookie, safe_next, see_other, urlencode};
use crate::{ApiError, AppState};

/// Fields every page's layout needs.
pub struct Layout {
    pub title: String,
    pub site: String,
    pub user: Option<String>,
    pub csrf: String,
}

impl Layout {
    pub async fn new(state: &AppState, auth: &Auth, title: &str) -> Layout {
        let site = match state.store().node_info().await {
            Ok(Some(n)) => format!("{}政务服务平台", n.name),
            _ => "一网政务服务平台".to_string(),
        };
        Layout { title: title.to_string(), site, user: auth.principal.as_ref().map(|p| p.name.clone()), csrf: auth.csrf.clone() }
    }
}

/// A stored UTC timestamp as China time for display (`2026-11-24 09:57`).
pub fn china_time(ts: &str) -> String {
    ts.parse::<Timestamp>()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| ts.to_string())
}

/// Render a template, or a logged 500.
pub fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            ApiError::new(&crate::WebError::Panic).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub l: Layout,
    pub class: &'static str,
    pub message: String,
    pub link: Option<(String, String)>,
}

/// A page explaining an error to a person (forms), with the error's status.
pub async fn error_page(state: &AppState, auth: &Auth, title: &str, e: &(dyn Coded + Sync), link: Option<(String, String)>) -> Response {
    // The same logging, status and message as problem+json: internal faults never show their details.
    problem_page(state, auth, title, ApiError::new(e), link).await
}

/// An already-built error as a page.
pub async fn problem_page(state: &AppState, auth: &Auth, title: &str, problem: ApiError, link: Option<(String, String)>) -> Response {
    let status = StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = problem.message_zh().to_string();
    render(status, &MessagePage { l: Layout::new(state, auth, title).await, class: "error", message, link })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    regions: Vec<NodeRegion>,
}

pub async fn home(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let regions = state.store().node_regions().await?;
    let mut l = Layout::new(&state, &auth, "").await;
    l.title.clone_from(&l.site);
    Ok(render(StatusCode::OK, &HomePage { l, regions }))
}

// ---- login -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    error: Option<String>,
    next: String,
    next_encoded: String,
    login: String,
    providers: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn login_page(state: &AppState, auth: &Auth, next: String, login: String, error: Option<String>) -> LoginPage {
    LoginPage {
        l: Layout::new(state, auth, "登录").await,
        error,
        next_encoded: urlencode(&next),
        next,
        login,
        providers: state.identity().federation.iter().map(|p| (p.name.clone(), p.label.clone())).collect(),
    }
}

pub async fn login_form(State(state): State<AppState>, auth: Auth, Query(q): Query<NextQuery>) -> Response {
    if auth.principal.is_some() {
        return see_other(&safe_next(q.next.as_deref()));
    }
    render(StatusCode::OK, &login_page(&state, &auth, safe_next(q.next.as_deref()), String::new(), None).await)
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

/// Normalise what people type as a login name (citizen IDs end in upper-case X).
fn normalise_login(s: &str) -> String {
    let t = s.trim();
    if t.len() == 18 && t.bytes().take(17).all(|b| b.is_ascii_digit()) { t.to_ascii_uppercase() } else { t.to_string() }
}

// An argon2id hash of a random password: verifying against it when the account does
// not exist costs the same time as a real check, so timing does not tell.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$VwOTdLvtS1UNxGn4SOwnE7gHDUMN2c3dpwvCKoe0aLk";

/// Check a login; on success return the account id. Applies the back-off.
///
/// Each attempt is counted before the password is checked, atomically, under
/// three keys: the account (or the unknown name) together with the client's
/// address, which locks after a few failures and backs off; the address alone,
/// a little more lenient, against spraying many accounts; and the account
/// alone, lenient with short locks, against guessing from many addresses. An
/// owner elsewhere is therefore never locked out for long by someone else's
/// guesses, and counts decay, so nobody behind a shared address stays locked.
pub async fn check_login(state: &AppState, login: &str, password: &str, client_addr: &str) -> Result<String, ApiError> {
    let now = Timestamp::now();
    let store = state.store();
    let account = store.account_by_login(login).await?;
    // Count per account, whichever of its names (ID, phone, email) is typed,
    // so switching names does not buy more guesses; unknown names count by themselves.
    let who = account.as_ref().map_or_else(|| format!("name:{login}"), |a| format!("account:{}", a.id));
    let client_addr = &crate::security::throttle_client(client_addr);
    let policy = state.identity().throttle;
    let keys = [
        (format!("login:{who}|{client_addr}"), policy),
        (format!("addr:{client_addr}"), ThrottlePolicy { free_attempts: policy.free_attempts * 4, ..policy }),
        (
            format!("login:{who}"),
            ThrottlePolicy { free_attempts: policy.free_attempts * 10, max_lock: SignedDuration::from_mins(1), ..policy },
        ),
    ];
    let mut counted = Vec::with_capacity(keys.len());
    for (key, pol) in &keys {
        match store.throttle_attempt(key, pol, now).await? {
            Attempt::Go { failures } => counted.push((key, pol, failures)),
            Attempt::Wait(wait) => return Err(IdentityError::Throttled { retry_after_s: wait }.into()),
        }
    }
    let hash = account.as_ref().and_then(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let pw = password.to_string();
    // argon2 is deliberately slow: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&pw, &hash)).await.unwrap_or(false);
    match account {
        Some(a) if matches && a.status == AccountStatus::Active => {
            // A success forgets this account's failures; the address gets this
            // attempt back but keeps its other failures (one success does not
            // excuse spraying other accounts), so an office behind one address
            // is never locked by its own good logins.
            store.throttle_clear(&keys[0].0).await?;
            store.throttle_clear(&keys[2].0).await?;
            store.throttle_refund(&keys[1].0).await?;
            Ok(a.id)
        }
        Some(a) if matches && a.status == AccountStatus::Pending => {
            // The right password for an account still being verified is no failed guess.
            for (key, _, _) in &counted {
                store.throttle_refund(key).await?;
            }
            Err(IdentityError::Forbidden("pending".into()).into())
        }
        _ => {
            let mut wait = None;
            for (key, pol, failures) in counted {
                if let Some(w) = store.throttle_failed(key, pol, failures, now).await? {
                    wait = Some(wait.map_or(w, |x: u64| x.max(w)));
                }
            }
            tracing::info!(login = %yiwang_identity::mask_name(login), addr = client_addr, "failed login");
            match wait {
                Some(w) => Err(IdentityError::Throttled { retry_after_s: w }.into()),
                None => Err(IdentityError::BadCredentials.into()),
            }
        }
    }
}

/// Start a session for `account_id` and send the browser on.
pub async fn start_session(state: &AppState, account_id: &str, amr: &str, next: &str) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let mut tx = state.store().begin().await?;
    let s = tx.create_session(account_id, amr, &state.identity().session, now).await?;
    tx.commit().await?;
    let mut resp = see_other(next);
    resp.headers_mut().append(header::SET_COOKIE, cookie(state, SESSION_COOKIE, &s.token, None));
    Ok(resp)
}

pub async fn login_submit(State(state): State<AppState>, auth: Auth, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let login = normalise_login(&f.login);
    match check_login(&state, &login, &f.password, &auth.client_addr).await {
        Ok(account_id) => start_session(&state, &account_id, "pwd", &next).await.unwrap_or_else(IntoResponse::into_response),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            let msg = if e.code() == "auth.forbidden" {
                "账号尚未完成手机或邮箱验证，请先完成注册验证。".to_string()
            } else {
                e.message_zh().to_string()
            };
            render(status, &login_page(&state, &auth, next, login, Some(msg)).await)
        }
    }
}

// ---- registration ------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    citizen_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    l: Layout,
    error: Option<String>,
    form: RegisterForm,
}

pub async fn register_form(State(state): State<AppState>, auth: Auth) -> Response {
    render(StatusCode::OK, &RegisterPage { l: Layout::new(&state, &auth, "注册").await, error: None, form: RegisterForm::default() })
}

/// Phone (mainland mobile) or email; the channel the code goes through.
pub fn parse_contact(s: &str) -> Option<(&'static str, String)> {
    let t = s.trim();
    if t.len() == 11 && t.starts_with('1') && t.bytes().all(|b| b.is_ascii_digit()) {
        Some(("sms", t.to_string()))
    } else if t.len() <= 254
        && t.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !t.contains(' '))
    {
        Some(("email", t.to_ascii_lowercase()))
    } else {
        None
    }
}

pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=50).contains(&n) && !name.chars().any(char::is_control)
}

/// `POST /register`: start a registration. The answer is the same whether or
/// not the ID number or the contact is already registered (a page asking for
/// the code); nothing is held until the code is verified, so nobody can squat
/// a stranger's ID or phone. Starts are throttled per client address.
pub async fn register_submit(State(state): State<AppState>, auth: Auth, Form(mut f): Form<RegisterForm>) -> Response {
    let now = Timestamp::now();
    f.name = f.name.trim().to_string();
    let fail = |msg: String, f: RegisterForm, status: StatusCode| {
        let state = state.clone();
        let auth = auth.clone();
        async move {
            let mut f = f;
            f.password.clear();
            f.password2.clear();
            render(status, &RegisterPage { l: Layout::new(&state, &auth, "注册").await, error: Some(msg), form: f })
        }
    };
    let today = yiwang_calendar::china_today(now);
    let id = match CitizenId::parse(&normalise_login(&f.citizen_id), today) {
        Ok(id) => id,
        Err(e) => return fail(format!("身份证号无效：{}", e.message_zh()), f, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if !valid_name(&f.name) {
        return fail("请填写姓名（不超过 50 个字）".into(), f, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Some((channel, contact)) = parse_contact(&f.contact) else {
        return fail("请填写有效的手机号（11 位）或邮箱".into(), f, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if let Err(e) = check_password_strength(&f.password, PasswordPolicy::default()) {
        return fail(e.message_zh(), f, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if f.password != f.password2 {
        return fail("两次输入的密码不一致".into(), f, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // Every start sends a message: a few per address, and per contact, then wait.
    for key in [format!("register:{}", crate::security::throttle_client(&auth.client_addr)), format!("register-contact:{contact}")] {
        match state.store().throttle_attempt(&key, &REGISTER_THROTTLE, now).await {
            Ok(Attempt::Go { .. }) => {}
            Ok(Attempt::Wait(w)) => {
                return fail(IdentityError::Throttled { retry_after_s: w }.message_zh(), f, StatusCode::TOO_MANY_REQUESTS).await;
            }
            Err(e) => return error_page(&state, &auth, "注册", &e, None).await,
        }
    }
    let pw = f.password.clone();
    let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || hash_password(&pw)).await else {
        return fail("服务器内部错误，请稍后重试。".into(), f, StatusCode::INTERNAL_SERVER_ERROR).await;
    };
    let new = yiwang_store::NewRegistration {
        citizen_id: id.to_string(),
        name: f.name.clone(),
        channel: channel.to_string(),
        contact,
        password_hash: hash,
    };
    match state.store().start_registration(&new, &verification_code(), state.security().pending_registration, now).await {
        Ok(reg) => see_other(&format!("/register/verify?registration={reg}")),
        Err(e) => error_page(&state, &auth, "注册", &e, None).await,
    }
}

/// Registration starts: three free per client address (and per contact), then a
/// lock that doubles; one is forgotten every ten minutes.
const REGISTER_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free_attempts: 3,
    base_lock: SignedDuration::from_secs(60),
    max_lock: SignedDuration::from_mins(30),
    decay_every: SignedDuration::from_mins(10),
};

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    l: Layout,
    error: Option<String>,
    registration: String,
    masked_contact: String,
    minutes: i64,
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    registration: String,
}

fn masked_contact(r: &yiwang_store::Registration) -> String {
    if r.typed.channel == "sms" { mask_phone(&r.typed.contact) } else { mask_email(&r.typed.contact) }
}

fn no_registration() -> crate::WebError {
    crate::WebError::NotFound("待验证的注册（可能已过期）".into())
}

pub async fn verify_form(State(state): State<AppState>, auth: Auth, Query(q): Query<VerifyQuery>) -> Response {
    match state.store().registration(&q.registration, Timestamp::now()).await {
        Ok(Some(r)) => render(
            StatusCode::OK,
            &VerifyPage {
                l: Layout::new(&state, &auth, "验证手机或邮箱").await,
                error: None,
                masked_contact: masked_contact(&r),
                registration: r.id,
                minutes: state.security().pending_registration.as_mins(),
            },
        ),
        Ok(None) => error_page(&state, &auth, "验证", &no_registration(), Some(("/register".into(), "重新注册".into()))).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    registration: String,
    code: String,
}

pub async fn verify_submit(State(state): State<AppState>, auth: Auth, Form(f): Form<VerifyForm>) -> Response {
    match verify_inner(&state, &auth, &f).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn verify_inner(state: &AppState, auth: &Auth, f: &VerifyForm) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let again = Some(("/register".to_string(), "重新注册".to_string()));
    let reg = match state.store().verify_registration(&f.registration, f.code.trim(), now).await? {
        RegistrationCheck::Verified(r) => r.typed,
        RegistrationCheck::Wrong { attempts_left } => {
            let Some(r) = state.store().registration(&f.registration, now).await? else {
                return Ok(error_page(state, auth, "验证", &no_registration(), again).await);
            };
            let page = VerifyPage {
                l: Layout::new(state, auth, "验证手机或邮箱").await,
                error: Some(format!("验证码错误，还可尝试 {attempts_left} 次")),
                masked_contact: masked_contact(&r),
                registration: r.id,
                minutes: state.security().pending_registration.as_mins(),
            };
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        RegistrationCheck::ExpiredOrMissing => return Ok(error_page(state, auth, "验证", &no_registration(), again).await),
    };
    // The contact is proven. The ID number may have an account by now: then the
    // owner is told, and this person learns only what they need to go on.
    if let Some(holder) = state.store().account_by_citizen_id(&reg.citizen_id).await? {
        let mut tx = state.store().begin().await?;
        tx.notify_registration_attempt(&holder, now).await?;
        tx.commit().await?;
        return Ok(registration_conflict(state, auth).await);
    }
    let new = NewAccount {
        citizen_id: reg.citizen_id.clone(),
        name: reg.name.clone(),
        phone: (reg.channel == "sms").then(|| reg.contact.clone()),
        email: (reg.channel == "email").then(|| reg.contact.clone()),
        password_hash: Some(reg.password_hash.clone()),
        level: RealNameLevel::L1,
        level_source: "self_registered".into(),
        status: AccountStatus::Active,
    };
    let mut tx = state.store().begin().await?;
    let acc = match tx.create_account(&new, "self", now).await {
        Ok(a) => a,
        // Taken in the meantime (the ID or the contact): the same answer as above.
        Err(e) if e.code() == "store.conflict" => return Ok(registration_conflict(state, auth).await),
        Err(e) => return Err(e.into()),
    };
    // L2: the name and number match the population base data (人口库).
    if let Some(p) = state.store().base_person(&acc.citizen_id).await?
        && p.name == acc.name
        && p.status == "normal"
    {
        tx.set_account_level(&acc.id, RealNameLevel::L2, "base_data_match", "system", "注册时与人口库比对一致", now).await?;
    }
    tx.commit().await?;
    start_session(state, &acc.id, "pwd", "/account?welcome=1").await
}

/// The ID number (or the contact) already has an account.
async fn registration_conflict(state: &AppState, auth: &Auth) -> Response {
    let l = Layout::new(state, auth, "注册").await;
    let body = MessagePage {
        l,
        class: "notice",
        message: "无法用这些信息创建新账号：该身份证号或联系方式已有账号。请直接登录；忘记密码或并非本人注册的，\
                  请携带身份证到任一政务服务大厅窗口办理。/ An account already exists for this ID number or contact: log in, \
                  or visit a service hall window with your ID card."
            .into(),
        link: Some(("/login".into(), "去登录".into())),
    };
    render(StatusCode::CONFLICT, &body)
}

// ---- account -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    notice: Option<String>,
    name: String,
    masked_id: String,
    level: &'static str,
    acting: String,
    acting_uscc: String,
    enterprises: Vec<EnterpriseRole>,
    staff: Vec<StaffRole>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    welcome: Option<String>,
    notice: Option<String>,
}

fn acting_label(p: &Principal) -> (String, String) {
    match &p.acting {
        Acting::Own => ("本人".into(), String::new()),
        Acting::Enterprise { uscc, name, legal_representative } => {
            (format!("{name}（{}）", if *legal_representative { "法定代表人" } else { "经办人" }), uscc.clone())
        }
    }
}

pub async fn account_page(State(state): State<AppState>, auth: Auth, Query(q): Query<AccountQuery>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let enterprises = state.store().enterprises_for(&p.account_id).await?;
    let (acting, acting_uscc) = acting_label(p);
    let notice = match (q.welcome.is_some(), q.notice.as_deref()) {
        (true, _) => Some(format!("注册成功。您的实名等级为 {}。", p.level.name_zh())),
        (_, Some("enterprise")) => Some("企业账号已开通。".to_string()),
        (_, Some("acting")) => Some("办事身份已切换。".to_string()),
        _ => None,
    };
    Ok(render(
        StatusCode::OK,
        &AccountPage {
            l: Layout::new(&state, &auth, "我的账号").await,
            notice,
            name: p.name.clone(),
            masked_id: yiwang_codes::mask_citizen_id(&p.citizen_id),
            level: p.level.name_zh(),
            acting,
            acting_uscc,
            enterprises,
            staff: p.staff.clone(),
        },
    ))
}

#[derive(Deserialize)]
pub struct ActingForm {
    #[serde(rename = "as")]
    acting: String,
}

pub async fn switch_acting(State(state): State<AppState>, auth: Auth, Form(f): Form<ActingForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let target = if f.acting == "self" {
        None
    } else {
        let allowed = state.store().enterprises_for(&p.account_id).await?;
        if !allowed.iter().any(|e| e.uscc == f.acting) {
            return Ok(error_page(
                &state,
                &auth,
                "切换身份",
                &IdentityError::Forbidden("not an agent".into()),
                Some(("/account".into(), "返回".into())),
            )
            .await);
        }
        Some(f.acting.as_str())
    };
    state.store().set_session_acting(p.session_id(), target).await?;
    Ok(see_other("/account?notice=acting"))
}

#[derive(Deserialize)]
pub struct EnterpriseForm {
    uscc: String,
}

/// A legal representative opens the enterprise's account: the USCC must be in the
/// legal-entity base data, active, with the caller as its legal representative.
pub async fn open_enterprise(State(state): State<AppState>, auth: Auth, Form(f): Form<EnterpriseForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let back = Some(("/account".to_string(), "返回我的账号".to_string()));
    let uscc = match Uscc::parse(f.uscc.trim()) {
        Ok(u) => u,
        Err(e) => return Ok(error_page(&state, &auth, "开通企业账号", &e, back).await),
    };
    if let Err(e) = p.level.require(RealNameLevel::L2) {
        return Ok(error_page(&state, &auth, "开通企业账号", &e, back).await);
    }
    let base = state.store().base_enterprise(uscc.as_str()).await?;
    let Some(base) = base.filter(|b| b.legal_rep_id == p.citizen_id && b.registration_status == "active") else {
        return Ok(error_page(
            &state,
            &auth,
            "开通企业账号",
            &crate::WebError::NotFound("法人库中您担任法定代表人的在营企业".into()),
            back,
        )
        .await);
    };
    let mut tx = state.store().begin().await?;
    tx.create_enterprise(uscc.as_str(), &base.name, &p.account_id, &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(see_other("/account?notice=enterprise"))
}

fn clear_session_cookie(state: &AppState, mut resp: Response) -> Response {
    resp.headers_mut().append(header::SET_COOKIE, cookie(state, SESSION_COOKIE, "", Some(0)));
    resp
}

pub async fn logout(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let mut tx = state.store().begin().await?;
    tx.revoke_session(p.session_id(), &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(clear_session_cookie(&state, see_other("/")))
}

pub async fn logout_all(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let mut tx = state.store().begin().await?;
    tx.revoke_all_sessions(&p.account_id, &p.account_id, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(clear_session_cookie(&state, see_other("/")))
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    l: Layout,
    name: String,
    staff: Vec<StaffRole>,
}

pub async fn console(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    Ok(render(StatusCode::OK, &ConsolePage { l: Layout::new(&state, &auth, "工作台").await, name: p.name.clone(), staff: p.staff.clone() }))
}
