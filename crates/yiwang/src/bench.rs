//! `yiwang bench identity`: load over loopback against an in-process server on a
//! fresh node — OIDC token exchanges (authorization code + PKCE), userinfo calls
//! and password logins — with the load generator in the same process (so the
//! figures include the client's share of the two cores).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use yiwang_identity::{RealNameLevel, hash_password, new_token, pkce_challenge_s256, token_hash};
use yiwang_store::{AccountStatus, CodeGrant, NewAccount, Store, StoreOptions};

#[derive(Serialize)]
pub struct Figure {
    pub name: String,
    pub requests: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn figure(name: impl Into<String>, mut lat: Vec<Duration>, concurrency: usize, elapsed: Duration) -> Figure {
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Figure {
        name: name.into(),
        requests: lat.len(),
        concurrency,
        seconds: elapsed.as_secs_f64(),
        per_second: lat.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// A node serving `store` on a free loopback port, in this process.
struct Node {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    async fn start(store: &Store) -> anyhow::Result<Node> {
        Node::start_with(store, yiwang_web::SecurityRuntime::default()).await
    }

    async fn start_with(store: &Store, security: yiwang_web::SecurityRuntime) -> anyhow::Result<Node> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let identity = yiwang_web::IdentityRuntime::new(&yiwang_web::IdentitySettings::default(), &addr.to_string());
        let state = yiwang_web::AppState::new(store.clone(), identity).with_security(security);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(yiwang_web::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        Ok(Node { base: format!("http://{addr}"), stop, server })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Run `n` requests made by `make(i)` with `c` concurrent workers; every response must be `ok`.
async fn load<F, Fut>(n: usize, c: usize, make: F) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..c {
        let (make, next) = (make.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                make(i).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await??);
    }
    Ok((all, started.elapsed()))
}

/// `database_url`: an empty database to use instead of a temporary SQLite file.
pub async fn identity(
    requests: usize,
    concurrency: usize,
    logins: usize,
    pool: u32,
    database_url: Option<String>,
) -> anyhow::Result<Vec<Figure>> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions { max_connections: pool, ..StoreOptions::default() }, Timestamp::now()).await?;
    let now = Timestamp::now();
    let password = "Bench-2026";
    let mut tx = store.begin().await?;
    let acc = tx
        .create_account(
            &NewAccount {
                citizen_id: "11010519491231002X".into(),
                name: "压测".into(),
                phone: Some("13900000000".into()),
                email: None,
                password_hash: Some(hash_password(password)?),
                level: RealNameLevel::L2,
                level_source: "bench".into(),
                status: AccountStatus::Active,
            },
            "bench",
            now,
        )
        .await?;
    // The logins are by many people at once (one account per client), as in a
    // hall or an office: the same account and address logging in 32 times at once
    // is what the throttle stops (its attempts are counted before the check).
    let login_hash = hash_password(password)?;
    for i in 0..concurrency {
        let body = format!("110105194912{:05}", 31_100 + i);
        let check = yiwang_codes::citizen_check_char(&body).ok_or_else(|| anyhow::anyhow!("bad id body"))?;
        tx.create_account(
            &NewAccount {
                citizen_id: format!("{body}{check}"),
                name: "压测".into(),
                phone: Some(format!("139{:08}", 10_000 + i)),
                email: None,
                password_hash: Some(login_hash.clone()),
                level: RealNameLevel::L2,
                level_source: "bench".into(),
                status: AccountStatus::Active,
            },
            "bench",
            now,
        )
        .await?;
    }
    let secret = "bench-secret";
    let redirect = "http://127.0.0.1:9/cb".to_string();
    tx.create_oidc_client("bench", Some(&token_hash(secret)), "bench", std::slice::from_ref(&redirect), &[], false, "bench", now).await?;
    let session = tx.create_session(&acc.id, "pwd", &Default::default(), now).await?;
    tx.commit().await?;

    // Codes are minted directly: the browser part of the flow is not what is measured.
    let verifier = new_token() + "-bench-verifier";
    let grant = CodeGrant {
        client_id: "bench".into(),
        account_id: acc.id.clone(),
        sid: session.sid.clone(),
        redirect_uri: redirect.clone(),
        scope: "openid profile".into(),
        nonce: Some("n".into()),
        code_challenge: pkce_challenge_s256(&verifier),
        auth_time: yiwang_store::ts(now),
    };
    let mut codes = Vec::with_capacity(requests);
    let mut tx = store.begin().await?;
    for _ in 0..requests {
        let code = new_token();
        tx.create_code(&token_hash(&code), &grant, SignedDuration::from_hours(1), now).await?;
        codes.push(code);
    }
    tx.commit().await?;

    // The node sits behind a reverse proxy on loopback, as in production: each
    // client's address comes in X-Forwarded-For.
    let proxied = yiwang_web::SecuritySettings { trusted_proxies: vec!["127.0.0.1".into()], ..Default::default() };
    let node = Node::start_with(&store, yiwang_web::SecurityRuntime::new(&proxied).map_err(|e| anyhow::anyhow!(e))?).await?;
    let base = node.base.clone();
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).redirect(reqwest::redirect::Policy::none()).build()?;

    // Warm the signing-key cache and connections.
    http.get(format!("{base}/oidc/jwks")).send().await?.error_for_status()?;

    let codes = Arc::new(codes);
    let tokens = Arc::new(std::sync::Mutex::new(Vec::with_capacity(requests)));
    let (h, b, v, r, t) = (http.clone(), base.clone(), verifier.clone(), redirect.clone(), tokens.clone());
    let (lat, took) = load(requests, concurrency, move |i| {
        let (h, b, v, r, t, codes) = (h.clone(), b.clone(), v.clone(), r.clone(), t.clone(), codes.clone());
        async move {
            let resp = h
                .post(format!("{b}/oidc/token"))
                .basic_auth("bench", Some(secret))
                .form(&[("grant_type", "authorization_code"), ("code", codes[i].as_str()), ("redirect_uri", &r), ("code_verifier", &v)])
                .send()
                .await?
                .error_for_status()?;
            let body: serde_json::Value = resp.json().await?;
            let at = body["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("no access token"))?.to_string();
            t.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(at);
            Ok(())
        }
    })
    .await?;
    let mut figures = vec![figure("token exchange (authorization_code + PKCE, ES256 id_token)", lat, concurrency, took)];

    let tokens: Arc<Vec<String>> = Arc::new(tokens.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone());
    let (h, b) = (http.clone(), base.clone());
    let (lat, took) = load(requests, concurrency, move |i| {
        let (h, b, tokens) = (h.clone(), b.clone(), tokens.clone());
        async move {
            h.get(format!("{b}/oidc/userinfo")).bearer_auth(&tokens[i % tokens.len()]).send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    figures.push(figure("userinfo (opaque bearer token)", lat, concurrency, took));

    let csrf = "B".repeat(43);
    let (h, b) = (http.clone(), base.clone());
    let (lat, took) = load(logins, concurrency, move |i| {
        let (h, b, csrf) = (h.clone(), b.clone(), csrf.clone());
        let login = format!("139{:08}", 10_000 + i % concurrency);
        async move {
            let resp = h
                .post(format!("{b}/login"))
                .header("cookie", format!("yiwang_csrf={csrf}"))
                .header("x-forwarded-for", format!("198.51.100.{}", 1 + i % concurrency))
                .form(&[("login", login.as_str()), ("password", password), ("csrf", &csrf), ("next", "/account")])
                .send()
                .await?;
            anyhow::ensure!(resp.status().as_u16() == 303, "login failed: {}", resp.status());
            Ok(())
        }
    })
    .await?;
    figures.push(figure("password login (argon2id m=19456 t=2 p=1, session created)", lat, concurrency, took));

    node.stop().await;
    store.close().await;
    Ok(figures)
}

/// Realistic portal searches, some with filters, cycled through by the load.
const CATALOG_QUERIES: &[&str] = &[
    "q=营业执照",
    "q=身份证",
    "q=出生",
    "q=社保卡",
    "q=餐饮",
    "q=户口迁移",
    "q=医保&audience=natural",
    "q=施工许可&audience=legal",
    "q=个体工商户&online=1",
    "q=食品经营许可证&region=330200",
    "audience=legal&theme=开办企业",
    "q=结婚登记",
];

/// Synthetic places for the catalog load: county-level divisions of the
/// eleven prefecture cities of Zhejiang, each implementing every demo item.
const CITIES: &[(&str, &str)] = &[
    ("3301", "杭州市"),
    ("3302", "宁波市"),
    ("3303", "温州市"),
    ("3304", "嘉兴市"),
    ("3305", "湖州市"),
    ("3306", "绍兴市"),
    ("3307", "金华市"),
    ("3308", "衢州市"),
    ("3309", "舟山市"),
    ("3310", "台州市"),
    ("3311", "丽水市"),
];

/// The demo items copied to county agencies until the catalog holds `total`
/// published items (the demo's own included).
async fn fill_catalog(store: &Store, total: usize) -> anyhow::Result<usize> {
    use yiwang_catalog::demo_items::ITEMS;
    use yiwang_catalog::samples::{Place, build};
    let resolve = crate::demo::evidence_resolver()?;
    let now = Timestamp::now();
    let mut have = store.published_items().await?.len();
    let mut tx = store.begin().await?;
    'places: for place in 0.. {
        let (prefix, city) = CITIES[place % CITIES.len()];
        let county = place / CITIES.len() + 2; // xx01 is the city itself
        let division = format!("{prefix}{county:02}");
        for (key, spec) in ITEMS {
            if have >= total {
                break 'places;
            }
            let dept = crate::demo::AGENCIES.iter().position(|a| a.key == *key).unwrap_or(0);
            let demo_name = crate::demo::AGENCIES[dept].name;
            let dept_name = demo_name.trim_start_matches("国家税务总局").get(9..).unwrap_or(demo_name);
            let org8 = format!("{:08}", 31_000_000 + place * 100 + dept);
            let agency = yiwang_catalog::AgencyRef {
                uscc: crate::demo::uscc("11", &division, &org8)?.as_str().into(),
                name: format!("{city}第{county}区{dept_name}"),
                division_code: division.clone(),
            };
            tx.upsert_agency(
                &yiwang_store::Agency {
                    uscc: agency.uscc.clone(),
                    name: agency.name.clone(),
                    division_code: division.clone(),
                    level: "county".into(),
                },
                "bench",
                now,
            )
            .await?;
            let at = Place {
                agency,
                level: yiwang_codes::UseLevel::County,
                hall: format!("{city}第{county}区行政服务中心"),
                phone: "12345".into(),
            };
            tx.import_item(&build(spec, &at, &resolve)?, true, "bench", now).await?;
            have += 1;
            if have % 250 == 0 {
                tx.commit().await?;
                tx = store.begin().await?;
            }
        }
    }
    tx.commit().await?;
    Ok(have)
}

/// `yiwang bench catalog`: a node with `items` published items; searches at a
/// fixed `rate` for `seconds` (open loop: latency counts from when a request
/// was due, so a stall is not hidden), then service-guide pages and PDFs one
/// at a time.
pub async fn catalog(items: usize, rate: u32, seconds: u32, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    crate::demo::seed(&store, &yiwang_crypto::seal::MasterKey::generate()).await?;
    let started = Instant::now();
    let total = fill_catalog(&store, items).await?;
    eprintln!("{total} published items in {:.1} s", started.elapsed().as_secs_f64());
    let codes: Arc<Vec<String>> = Arc::new(store.published_items().await?.into_iter().map(|p| p.doc.implementation_code).collect());

    let node = Node::start(&store).await?;
    let base = node.base.clone();
    let http = reqwest::Client::builder().build()?;

    // The first search builds the index of the catalog's current generation.
    let t = Instant::now();
    let first: serde_json::Value = http.get(format!("{base}/api/v1/items?q=营业执照")).send().await?.error_for_status()?.json().await?;
    let build = t.elapsed();
    anyhow::ensure!(first["total"].as_u64().unwrap_or(0) > 0, "no hits for 营业执照: {first}");
    let mut figures = vec![figure("search index build (first search after a change)", vec![build], 1, build)];

    // Open loop at a fixed rate.
    let n = (rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let begun = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let due = begun + interval * i as u32;
        tokio::time::sleep_until(due).await;
        let (h, url) = (http.clone(), format!("{base}/api/v1/items?{}", CATALOG_QUERIES[i % CATALOG_QUERIES.len()]));
        tasks.spawn(async move {
            h.get(url).send().await?.error_for_status()?.bytes().await?;
            anyhow::Ok(due.elapsed())
        });
    }
    let mut lat = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        lat.push(r??);
    }
    let took = begun.elapsed();
    figures.push(figure(format!("search /api/v1/items over {total} items, open loop at {rate}/s"), lat, 0, took));

    // Guide pages and PDFs, one request at a time over different items.
    let (h, b, c) = (http.clone(), base.clone(), codes.clone());
    let (lat, took) = load(2_000.min(codes.len() * 4), 1, move |i| {
        let (h, b, c) = (h.clone(), b.clone(), c.clone());
        async move {
            h.get(format!("{b}/items/{}", c[(i * 7919) % c.len()])).send().await?.error_for_status()?.bytes().await?;
            Ok(())
        }
    })
    .await?;
    figures.push(figure("guide page /items/{code} (HTML, all blocks)", lat, 1, took));
    let (h, b, c) = (http.clone(), base.clone(), codes.clone());
    let (lat, took) = load(100, 1, move |i| {
        let (h, b, c) = (h.clone(), b.clone(), c.clone());
        async move {
            let pdf =
                h.get(format!("{b}/items/{}/guide.pdf", c[(i * 104_729) % c.len()])).send().await?.error_for_status()?.bytes().await?;
            anyhow::ensure!(pdf.starts_with(b"%PDF"), "not a PDF");
            Ok(())
        }
    })
    .await?;
    figures.push(figure("guide PDF /items/{code}/guide.pdf (Typst, CJK font)", lat, 1, took));

    node.stop().await;
    store.close().await;
    Ok(figures)
}

const BENCH_BPMN: &str = include_str!("../../workflow/tests/bpmn/bench_parallel.bpmn");

struct NaturalOnly;

impl yiwang_workflow::engine::Env for NaturalOnly {
    fn add_working_days(&self, _: Timestamp, _: u32) -> Result<Timestamp, String> {
        Err("the benchmark process has no working-day timers".into())
    }
}

/// `yiwang bench workflow`: instances per second of start → parallel split →
/// 3 user tasks → join → end, in memory (the pure engine) and persisted on a
/// throw-away SQLite node (or `database_url`), next to SpiffWorkflow running
/// the same file in the same run (`scripts/bench_spiff.py`).
pub async fn workflow(
    in_memory: usize,
    persisted: usize,
    spiff: usize,
    database_url: Option<String>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    use yiwang_workflow::engine::{Input, Status, WaitKind, start, step};
    let def = yiwang_workflow::deploy(BENCH_BPMN, &|_| true)?;
    let now = Timestamp::now();
    let mut out = Vec::new();

    let t = Instant::now();
    for _ in 0..in_memory {
        let (mut inst, _) = start(&def, serde_json::json!({}), now, &NaturalOnly)?;
        while let Some(wait) = inst.waits.iter().find(|w| matches!(w.kind, WaitKind::Task { .. })).map(|w| w.id) {
            inst = step(&def, &inst, Input::CompleteTask { wait, data: serde_json::Value::Null }, now, &NaturalOnly)?.0;
        }
        anyhow::ensure!(inst.status == Status::Completed, "instance did not complete");
    }
    let secs = t.elapsed().as_secs_f64();
    let memory_rate = in_memory as f64 / secs;
    out.push(serde_json::json!({ "name": "yiwang, in memory (pure engine)", "instances": in_memory, "seconds": secs, "per_second": memory_rate }));

    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), now).await?;
    store.deploy_bpmn(BENCH_BPMN, &yiwang_store::Handlers::default(), "bench", now).await?;
    let t = Instant::now();
    for _ in 0..persisted {
        let id = store.start_workflow("bench_parallel", None, serde_json::json!({}), now, &NaturalOnly).await?;
        for task in store.open_tasks(&id).await? {
            let wait = u64::try_from(task.wait_id)?;
            store.step_workflow(&id, Input::CompleteTask { wait, data: serde_json::Value::Null }, "bench", now, &NaturalOnly).await?;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    out.push(serde_json::json!({
        "name": format!("yiwang, persisted ({})", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" }),
        "instances": persisted, "seconds": secs, "per_second": persisted as f64 / secs,
        "note": "4 transactions per instance: start and 3 task completions"
    }));
    store.close().await;

    let file = dir.path().join("bench_parallel.bpmn");
    std::fs::write(&file, BENCH_BPMN)?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/bench_spiff.py");
    let persisted_rate = out.last().and_then(|v| v["per_second"].as_f64()).unwrap_or(0.0);
    // The same file in SpiffWorkflow, in memory and persisted with its own
    // serializer into SQLite (a fifth as many instances: it is slower).
    let runs = [
        ("SpiffWorkflow (Python, same file, same run)", spiff, None, memory_rate, "yiwang_in_memory_vs_spiff"),
        (
            "SpiffWorkflow persisted (its serializer, SQLite, load and save per step)",
            spiff.div_ceil(5),
            Some(dir.path().join("spiff.db")),
            persisted_rate,
            "yiwang_persisted_vs_spiff_persisted",
        ),
    ];
    for (name, n, db, ours, ratio) in runs {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(script).arg(&file).arg("bench_parallel").arg(n.to_string());
        if let Some(db) = &db {
            cmd.arg(db);
        }
        match cmd.output() {
            Ok(o) if o.status.success() => {
                let mut v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
                let rate = v["per_second"].as_f64().unwrap_or(0.0);
                v["name"] = name.into();
                if rate > 0.0 {
                    v[ratio] = (ours / rate).into();
                }
                out.push(v);
            }
            Ok(o) => out.push(serde_json::json!({ "name": name, "error": String::from_utf8_lossy(&o.stderr) })),
            Err(e) => out.push(serde_json::json!({ "name": name, "error": e.to_string() })),
        }
    }
    Ok(out)
}

/// `yiwang bench seal`: SM2/SM3 signatures and verifications per second on one
/// core (a license record's signing input, about 600 bytes), next to `openssl
/// speed sm2` run for the same time on the same machine.
pub fn seal(seconds: u32) -> anyhow::Result<Vec<serde_json::Value>> {
    use yiwang_crypto::seal::{SealKey, verify};
    let key = SealKey::generate();
    let public = key.public_key_hex();
    let message = vec![b'x'; 600];
    let window = std::time::Duration::from_secs(u64::from(seconds));
    let t = Instant::now();
    let mut signed = 0u64;
    let mut signature = key.sign(&message);
    while t.elapsed() < window {
        signature = key.sign(&message);
        signed += 1;
    }
    let sign_rate = signed as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut verified = 0u64;
    while t.elapsed() < window {
        verify(&public, &message, &signature).map_err(|e| anyhow::anyhow!("verify: {e}"))?;
        verified += 1;
    }
    let verify_rate = verified as f64 / t.elapsed().as_secs_f64();
    let mut out = vec![serde_json::json!({
        "name": "yiwang (RustCrypto sm2, one core)", "sign_per_second": sign_rate, "verify_per_second": verify_rate,
        "note": "verify includes decoding the hex public key, as a verifier of a published key does",
    })];
    // `openssl speed` prints "... SM2 (CurveSM2) <sign s> <verify s> <sign/s> <verify/s>".
    match std::process::Command::new("openssl").args(["speed", "-seconds", &seconds.to_string(), "sm2"]).output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text.lines().find(|l| l.contains("SM2")).unwrap_or_default();
            let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.trim_end_matches('s').parse().ok()).collect();
            match nums.as_slice() {
                [.., sign, verify] => out.push(serde_json::json!({
                    "name": "openssl speed sm2 (same machine, same run)", "sign_per_second": sign, "verify_per_second": verify,
                    "yiwang_sign_vs_openssl": sign_rate / sign, "yiwang_verify_vs_openssl": verify_rate / verify,
                })),
                _ => out.push(serde_json::json!({ "name": "openssl speed sm2", "error": format!("unreadable output: {line}") })),
            }
        }
        Ok(o) => out.push(serde_json::json!({ "name": "openssl speed sm2", "error": String::from_utf8_lossy(&o.stderr) })),
        Err(e) => out.push(serde_json::json!({ "name": "openssl speed sm2", "error": e.to_string() })),
    }
    Ok(out)
}

/// `yiwang bench license`: licenses issued per second on a fresh demo node
/// (each sealed with SM2, given a status-list index and audited, in one
/// transaction), then the public verification page (`/licenses/verify?token=`,
/// which checks the token's seal, the record's seal and the current status)
/// over loopback.
pub async fn license(
    licenses: usize,
    concurrency: usize,
    page_requests: usize,
    database_url: Option<String>,
) -> anyhow::Result<Vec<Figure>> {
    use yiwang_store::{Holder, NewLicense};
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    let master = Arc::new(yiwang_crypto::seal::MasterKey::generate());
    crate::demo::seed(&store, &master).await?;
    let backend = store.backend();
    let food_type = crate::demo::evidence_code("food_license")?;
    let issuer = store
        .licenses_of("049", crate::demo::uscc("91", "330106", "MA2H0001")?.as_str())
        .await?
        .into_iter()
        .find(|l| l.type_code == food_type)
        .map(|l| l.issuer_uscc)
        .ok_or_else(|| anyhow::anyhow!("the demo has no 食品经营许可证"))?;
    let holder_id = "92330106MA2BENCH0X".to_string();

    let (s, m, t, i, h) = (store.clone(), master.clone(), food_type.clone(), issuer.clone(), holder_id.clone());
    let (lat, took) = load(licenses, concurrency, move |n| {
        let (s, m) = (s.clone(), m.clone());
        let new = NewLicense {
            type_code: t.clone(),
            number: format!("JY1330106{n:07}"),
            issuer_uscc: i.clone(),
            holder: Holder { name: "一网压测餐饮店".into(), id_type: "049".into(), id: h.clone() },
            valid_from: jiff::civil::date(2026, 1, 1),
            valid_until: Some(jiff::civil::date(2030, 12, 31)),
            case_no: None,
            data: serde_json::json!({ "business_form": "餐饮服务经营者", "items": ["热食类食品制售"] }),
        };
        async move {
            s.issue_license(&new, &m, "bench", Timestamp::now()).await.map_err(|e| anyhow::anyhow!("issue: {e}"))?;
            Ok(())
        }
    })
    .await?;
    let mut figures =
        vec![figure(format!("issue a license ({backend:?}: SM2 seal, status index, audit; store API)"), lat, concurrency, took)];

    let issued = store.licenses_of("049", &holder_id).await?;
    anyhow::ensure!(issued.len() == licenses, "{} licenses issued, {licenses} expected", issued.len());
    let mut tokens = Vec::new();
    for l in issued.iter().take(500) {
        tokens.push(store.license_token(&l.id, &master).await.map_err(|e| anyhow::anyhow!("token: {e}"))?);
    }
    let tokens = Arc::new(tokens);

    let node = Node::start(&store).await?;
    let base = node.base.clone();
    let http = reqwest::Client::builder().build()?;
    let (h, b, tk) = (http.clone(), base.clone(), tokens.clone());
    let (lat, took) = load(page_requests, concurrency, move |n| {
        let (h, url) = (h.clone(), format!("{b}/licenses/verify?token={}", tk[n % tk.len()]));
        async move {
            let page = h.get(url).send().await?.error_for_status()?.text().await?;
            anyhow::ensure!(page.contains("证照真实有效"), "the page does not say valid");
            Ok(())
        }
    })
    .await?;
    figures.push(figure(format!("verification page /licenses/verify?token= ({backend:?}, HTML)"), lat, concurrency, took));
    node.stop().await;
    store.close().await;
    Ok(figures)
}

/// `yiwang bench cases`: full case lifecycles per second through the store on a
/// fresh demo node: open, submit, accept, one step started and passed, decide,
/// conclude, deliver: 8 transactions, each writing the event beside the state
/// (and, for 受理, 办结 and 送达, the applicant's notice with its email and SMS).
/// With `webhook`, the item's agency first subscribes a receiver on loopback:
/// 7 of the 8 events then also queue a signed delivery (the webhook outbox),
/// and the dispatcher's delivery rate is measured after the load.
/// Options of `yiwang bench cases`.
#[derive(Debug, Clone, Copy)]
pub struct CasesBench {
    /// Subscribe a webhook receiver first and measure the deliveries.
    pub webhook: bool,
    /// File the cases under an account with email and phone (notices written
    /// and queued), or under none (no notices).
    pub notices: bool,
    /// Run 电子监察's consumer during the load, polling as `serve` does.
    pub supervise: bool,
}

pub async fn cases(lifecycles: usize, concurrency: usize, opts: CasesBench, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let webhook = opts.webhook;
    use yiwang_case::{Decision, Envelope, Event};
    use yiwang_store::{Applicant, NewCase};
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    crate::demo::seed(&store, &yiwang_crypto::seal::MasterKey::generate()).await?;
    let backend = store.backend();
    let item = store
        .published_items()
        .await?
        .into_iter()
        .find(|i| i.doc.legal_limit.amount > 0 && i.doc.for_natural_persons())
        .ok_or_else(|| anyhow::anyhow!("the demo has no item for persons with a time limit"))?;
    let receiver = match webhook {
        true => Some(Receiver::start(&store, &item.doc.agency.uscc).await?),
        false => None,
    };
    let item = item.doc.implementation_code;
    // The applicants' account has a verified email and phone, so 受理, 办结 and
    // 送达 each write an in-app notice and queue an email and an SMS, as they
    // would for a real person.
    let mut tx = store.begin().await?;
    let account = tx
        .create_account(
            &yiwang_store::NewAccount {
                citizen_id: "11010519491231002X".into(),
                name: "压测申请人".into(),
                phone: Some("13900009999".into()),
                email: Some("bench@example.cn".into()),
                password_hash: None,
                level: yiwang_identity::RealNameLevel::L2,
                level_source: "bench".into(),
                status: yiwang_store::AccountStatus::Active,
            },
            "bench",
            Timestamp::now(),
        )
        .await?
        .id;
    tx.commit().await?;
    let account = if opts.notices { account } else { "bench:no-account".to_string() };
    let calendar = Arc::new(store.load_calendar().await?);
    // 电子监察's consumer, as `serve` runs it: a pass of up to 200 marked cases,
    // then a 50 ms sleep when none was marked.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = opts.supervise.then(|| {
        let (s, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let rules = yiwang_supervision::RuleSet::default();
            let (mut cases, mut alerts) = (0usize, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match yiwang_web::supervision::supervise_once(&s, &rules, 200, Timestamp::now()).await {
                    Ok((0, _)) => tokio::time::sleep(Duration::from_millis(50)).await,
                    Ok((c, a)) => {
                        cases += c;
                        alerts += a;
                    }
                    Err(e) => return Err(anyhow::anyhow!("supervise: {e}")),
                }
            }
            Ok::<_, anyhow::Error>((cases, alerts))
        })
    });
    let s = store.clone();
    let (lat, took) = load(lifecycles, concurrency, move |n| {
        let (s, calendar, item, account) = (s.clone(), calendar.clone(), item.clone(), account.clone());
        async move {
            let now = Timestamp::now();
            let new = NewCase {
                item_code: item,
                applicant: Applicant { id_type: "111".into(), id: crate::synthetic::citizen_id(n), name: "压测申请人".into() },
                account_id: account,
                form: serde_json::json!({ "applicant_name": "压测申请人", "contact_name": "压测", "contact_phone": "13800138000" }),
                hall_id: None,
                level: yiwang_identity::RealNameLevel::L2,
                assured: true,
            };
            let (case, _) = s.create_case(&new, now).await.map_err(|e| anyhow::anyhow!("create: {e}"))?;
            let events = [
                Event::Submitted,
                Event::Accepted { promised_days: 10, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() },
                Event::StepStarted { step: "审查".into() },
                Event::StepPassed { step: "审查".into(), data: Default::default() },
                Event::Decided { decision: Decision::Approve },
                Event::Concluded { result: "准予许可".into() },
                Event::Delivered { method: "电子证照".into() },
            ];
            for event in events {
                let e = Envelope { at: now, actor: "bench".into(), reason: "压测".into(), event };
                s.record_case_event(&case.case_no, &e, None, &calendar).await.map_err(|e| anyhow::anyhow!("event: {e}"))?;
            }
            Ok(())
        }
    })
    .await?;
    let with = match (webhook, opts.notices) {
        (true, true) => ", notices and a webhook subscription",
        (true, false) => ", a webhook subscription, no notices",
        (false, true) => ", notices by in-app, email and SMS",
        (false, false) => ", no notices",
    };
    let supervised = if opts.supervise { " and 电子监察's consumer alongside" } else { "" };
    let mut figures = vec![figure(
        format!("full case lifecycle ({backend:?}: create + 7 events, 8 transactions{with}{supervised})"),
        lat,
        concurrency,
        took,
    )];
    if let Some(task) = consumer {
        // What the consumer left marked at the end is drained and timed too.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (during, alerts) = task.await??;
        let started = Instant::now();
        let rules = yiwang_supervision::RuleSet::default();
        let mut after = 0;
        loop {
            let (c, _) = yiwang_web::supervision::supervise_once(&store, &rules, 200, Timestamp::now()).await?;
            if c == 0 {
                break;
            }
            after += c;
        }
        let drain = started.elapsed();
        eprintln!("supervision: {during} cases evaluated during the load ({alerts} alerts), {after} after it in {drain:?}");
        figures.push(figure(format!("supervision consumer: the {after} cases left marked after the load"), vec![drain], 1, drain));
    }
    if let Some(r) = receiver {
        figures.push(r.drain(&store).await?);
    }
    store.close().await;
    Ok(figures)
}

/// `yiwang bench exchange-log`: envelopes received per second on a fresh node,
/// without HTTP. Each message is sealed by a peer (SM2 sign), opened by the
/// receiver (SM2 verify and every check) and logged in the message log
/// (`Tx::log_exchange`: the replay look-up, the chain link, the head), one
/// transaction each. The sealing is timed too; the receiver's side alone is
/// the figure minus `seal` from `cargo bench -p yiwang-exchange`.
pub async fn exchange_log(messages: usize, concurrency: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    use yiwang_exchange::{BodyRef, ClientId, Direction, Header, Kind, LogRecord, NodeId, Policy, Recipient, Sender, SignerKey};
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    let backend = store.backend();
    let member = "CN/GOV/91350100M000100Y43";
    let key = Arc::new(yiwang_crypto::seal::SealKey::generate());
    let kid = yiwang_exchange::key_id(&key.public_key_hex()).ok_or_else(|| anyhow::anyhow!("no key id"))?;
    let (from, to) = (NodeId::parse("CN/NODE/440300")?, NodeId::parse("CN/NODE/440000")?);
    let signer = SignerKey { public_key_hex: key.public_key_hex(), node: from.clone() };
    let keys = Arc::new(move |k: &str| (k == kid).then(|| signer.clone()));
    let client = ClientId::parse(&format!("{member}/aggregate"))?;
    let before = match store.exchange_log_verify().await? {
        yiwang_store::LogReport::Intact { entries } => entries,
        broken => anyhow::bail!("the log does not verify before the load: {broken:?}"),
    };
    let s = store.clone();
    let (lat, took) = load(messages, concurrency, move |n| {
        let (s, key, keys, from, to, client) = (s.clone(), key.clone(), keys.clone(), from.clone(), to.clone(), client.clone());
        async move {
            let now = Timestamp::now();
            let mut random = [0u8; 10];
            yiwang_crypto::random_bytes(&mut random);
            let body = serde_json::to_vec(&serde_json::json!({ "case_no": format!("{n:032}"), "event": "accepted" }))?;
            let header = Header::new(
                Kind::Event,
                Sender { node: from.clone(), client, on_behalf_of: None },
                Recipient { node: to, service: format!("{member}/aggregate/cases/v1") },
                BodyRef::of("application/json", &body),
                now,
                jiff::SignedDuration::from_secs(60),
                random,
            );
            let sealed = yiwang_exchange::seal(&header, &key)?;
            let opened = yiwang_exchange::open(&sealed.envelope(), &sealed.signature_line(), &body, &*keys, now, &Policy::default())?;
            let record = LogRecord {
                direction: Direction::In,
                peer: from.to_string(),
                msg_id: opened.header.msg_id.clone(),
                env_sm3: opened.env_sm3.clone(),
                header: String::from_utf8(opened.header_bytes)?,
                signature: sealed.signature_line(),
                body_sm3: opened.header.body.sm3.clone(),
                logged_at: now.to_string(),
            };
            match s.log_exchange(record).await? {
                yiwang_store::Logged::Appended(_) => Ok(()),
                yiwang_store::Logged::Seen { .. } => Err(anyhow::anyhow!("a fresh message id was already logged")),
            }
        }
    })
    .await?;
    let report = store.exchange_log_verify().await?;
    let want = yiwang_store::LogReport::Intact { entries: before + messages as i64 };
    anyhow::ensure!(report == want, "the log does not verify after the load: {report:?}, not {want:?}");
    store.close().await;
    Ok(vec![figure(
        format!("gx/1 envelopes sealed, opened and logged ({backend:?}; the chain verified after the load)"),
        lat,
        concurrency,
        took,
    )])
}

/// One node of `exchange_sync`: its database, its runtime and its HTTP server.
struct ExchangeNode {
    store: Store,
    rt: Arc<yiwang_web::exchange::ExchangeRuntime>,
    base: String,
    public_key: String,
    server: tokio::task::JoinHandle<()>,
    state: yiwang_web::AppState,
}

impl ExchangeNode {
    async fn start(url: &str, node: &str, member: &str, anchor: &yiwang_crypto::seal::SealKey) -> anyhow::Result<ExchangeNode> {
        ExchangeNode::start_with(url, node, member, anchor, false).await
    }

    async fn start_with(
        url: &str,
        node: &str,
        member: &str,
        anchor: &yiwang_crypto::seal::SealKey,
        aggregate_upward: bool,
    ) -> anyhow::Result<ExchangeNode> {
        let store = Store::open(url, &StoreOptions::default(), Timestamp::now()).await?;
        let master = yiwang_crypto::seal::MasterKey::generate();
        let (_, public_key) = store.create_exchange_key(&master, Timestamp::now()).await?;
        let settings = yiwang_web::exchange::ExchangeSettings {
            node: Some(node.into()),
            member: Some(member.into()),
            anchor_instance: "CN-TEST".into(),
            anchor_keys: vec![anchor.public_key_hex()],
            aggregate_upward,
            ..Default::default()
        };
        store.set_upward_aggregation(aggregate_upward).await?;
        let rt = yiwang_web::exchange::ExchangeRuntime::from_settings(&settings)
            .map_err(|e| anyhow::anyhow!(e))?
            .ok_or_else(|| anyhow::anyhow!("no exchange runtime"))?;
        rt.load(&store, &master, Timestamp::now()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let rt = Arc::new(rt);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let identity = yiwang_web::IdentityRuntime::new(&yiwang_web::IdentitySettings::default(), &base);
        let state = yiwang_web::AppState::new(store.clone(), identity).with_exchange(rt.clone());
        let server = ExchangeNode::serve(listener, state.clone());
        Ok(ExchangeNode { store, rt, base, public_key, server, state })
    }

    fn serve(listener: tokio::net::TcpListener, state: yiwang_web::AppState) -> tokio::task::JoinHandle<()> {
        let router = yiwang_web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        })
    }

    /// Down (its listener closed), as in an outage.
    async fn stop(&self) {
        self.server.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Up again at its registered address.
    async fn restart(&mut self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.base.trim_start_matches("http://")).await?;
        self.server = ExchangeNode::serve(listener, self.state.clone());
        Ok(())
    }
}

/// A node of a test network's registry: id, tier, parent, the member it
/// hosts, and the running node (none: listed without an endpoint).
type ListedNode<'a> = (&'a str, yiwang_exchange::Tier, Option<&'a str>, &'a str, Option<&'a ExchangeNode>);

/// A test network's registry over `nodes`, signed by `anchor` and installed
/// on every running node.
async fn install_registry(anchor: &yiwang_crypto::seal::SealKey, nodes: &[ListedNode<'_>]) -> anyhow::Result<()> {
    use yiwang_exchange::{ClientId, Directory, MemberEntry, NodeEntry, NodeId, RegistryPolicy};
    let now = Timestamp::now();
    let mut entries = Vec::new();
    let mut members = Vec::new();
    for (id, tier, parent, member, node) in nodes {
        entries.push(NodeEntry {
            id: NodeId::parse(id)?,
            tier: *tier,
            parent: parent.map(NodeId::parse).transpose()?,
            endpoints: vec![node.map_or_else(|| "http://127.0.0.1:9".to_string(), |n| n.base.clone())],
            keys: node.map(|n| vec![n.public_key.clone()]).unwrap_or_default(),
        });
        members.push(MemberEntry { id: ClientId::parse(member)?, home: NodeId::parse(id)? });
    }
    let directory = Directory {
        instance: "CN-TEST".into(),
        serial: 1,
        issued_at: now,
        soft_expires_at: now + SignedDuration::from_hours(1),
        hard_expires_at: now + SignedDuration::from_hours(72),
        nodes: entries,
        members,
        policy: RegistryPolicy { max_skew_seconds: 300, max_ttl_seconds: 86_400 },
        revoked: vec![],
    };
    let signed = yiwang_exchange::sign_directory(&directory, anchor)?;
    for n in nodes.iter().filter_map(|n| n.4) {
        n.rt.install(&n.store, &signed.bytes, &signed.signature_line, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// Synchronous gx/1 requests between two nodes on loopback, each on its own
/// database (the consumer on SQLite, the provider on `database_url` or
/// SQLite), over HTTP: the consumer seals, logs and posts; the provider opens,
/// logs, answers (`meta/list`), seals, logs and keeps the reply in one
/// transaction; the consumer checks and logs the reply. Both logs verify
/// after the load, with exactly two entries per request on each side.
pub async fn exchange_sync(messages: usize, concurrency: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    use yiwang_exchange::{ClientId, NodeId, Tier};
    let dir = tempfile::tempdir()?;
    let anchor = yiwang_crypto::seal::SealKey::generate();
    let (city_id, province_id) = ("CN-TEST/NODE/330100", "CN-TEST/NODE/330000");
    let (city_member, province_member) = ("CN-TEST/GOV/113301000025000337", "CN-TEST/GOV/113302000025000417");
    let city = ExchangeNode::start(&format!("sqlite://{}", dir.path().join("city.db").display()), city_id, city_member, &anchor).await?;
    let provider_url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("province.db").display()));
    let province = ExchangeNode::start(&provider_url, province_id, province_member, &anchor).await?;
    install_registry(
        &anchor,
        &[
            ("CN-TEST/NODE/000000", Tier::National, None, "CN-TEST/GOV/11100000000013127D", None),
            (province_id, Tier::Provincial, Some("CN-TEST/NODE/000000"), province_member, Some(&province)),
            (city_id, Tier::Municipal, Some(province_id), city_member, Some(&city)),
        ],
    )
    .await?;
    let before = province.store.exchange_log_page(0, 1).await?.len();
    anyhow::ensure!(before == 0, "the provider's log is not empty");
    let from = ClientId::parse(&format!("{city_member}/window"))?;
    let to = NodeId::parse(province_id)?;
    let service = format!("{province_member}/meta/list/v1");
    let (rt, store) = (city.rt.clone(), city.store.clone());
    let (lat, took) = load(messages, concurrency, move |_| {
        let (rt, store, from, to, service) = (rt.clone(), store.clone(), from.clone(), to.clone(), service.clone());
        async move {
            let call = yiwang_web::exchange::Call {
                from: &from,
                to: &to,
                service: &service,
                user: None,
                content_type: "application/json",
                body: b"{}",
            };
            let reply = rt.call(&store, call).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(reply.status == 200 && !reply.replayed, "reply {} (replayed: {})", reply.status, reply.replayed);
            Ok(())
        }
    })
    .await?;
    for (name, n) in [("consumer", &city), ("provider", &province)] {
        let want = yiwang_store::LogReport::Intact { entries: 2 * messages as i64 };
        let report = n.store.exchange_log_verify().await?;
        anyhow::ensure!(report == want, "the {name}'s log after the load: {report:?}, not {want:?}");
    }
    let backend = province.store.backend();
    for n in [city, province] {
        n.server.abort();
        n.store.close().await;
    }
    Ok(vec![figure(
        format!("gx/1 synchronous requests between two nodes over HTTP (consumer SQLite, provider {backend:?}; both logs verified)"),
        lat,
        concurrency,
        took,
    )])
}

/// A webhook receiver on loopback that checks each delivery's signature.
struct Receiver {
    received: Arc<std::sync::atomic::AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(store: &Store, agency: &str) -> anyhow::Result<Receiver> {
        use axum::http::{HeaderMap, StatusCode};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let (_, secret) = store.create_webhook(agency, &url, &["*".to_string()], "bench", Timestamp::now(), None).await?;
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (count, secret) = (count.clone(), secret.clone());
                async move {
                    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    let stamp: i64 = h("webhook-timestamp").parse().unwrap_or_default();
                    if yiwang_web::integration::signature(&secret, &h("webhook-id"), stamp, &body) != h("webhook-signature") {
                        return StatusCode::BAD_REQUEST;
                    }
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { received, server })
    }

    /// Deliver everything queued, as the dispatcher does, and time it.
    async fn drain(self, store: &Store) -> anyhow::Result<Figure> {
        // The receiver is on loopback, which only an operator's exception reaches.
        let outbound = yiwang_web::outbound::OutboundPolicy::allowing_loopback();
        let client = outbound.client(std::time::Duration::from_secs(10))?;
        let started = Instant::now();
        let mut lat = Vec::new();
        loop {
            let t = Instant::now();
            let sent = yiwang_web::integration::dispatch_once(store, &client, &outbound, None, Timestamp::now()).await?;
            if sent == 0 {
                break;
            }
            // One latency sample per delivery: the batch's time shared out.
            lat.extend(std::iter::repeat_n(t.elapsed() / sent as u32, sent));
        }
        let took = started.elapsed();
        self.server.abort();
        let received = self.received.load(std::sync::atomic::Ordering::Relaxed);
        anyhow::ensure!(received == lat.len(), "the receiver verified {received} of {} deliveries", lat.len());
        Ok(figure("signed webhook deliveries (HTTP loopback, signature checked by the receiver; one dispatcher)", lat, 1, took))
    }
}

/// `yiwang bench case-list`: a node filled with `cases` synthetic cases
/// (`synthetic::fill`), then the shapes Open Zaak publishes for 1 million
/// cases, over HTTP against an in-process node: a department's first list page
/// of 100 with the total count, at 1 and 16 clients; one case by number, at 1
/// and 16; and new applications, at 4.
pub async fn case_list(cases: usize, requests: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    crate::demo::seed(&store, &yiwang_crypto::seal::MasterKey::generate()).await?;
    let backend = store.backend();
    let plan = crate::synthetic::Plan { citizens: (cases / 10).max(1), enterprises: (cases / 50).max(1), cases };
    let filled = crate::synthetic::fill(&store, plan, Timestamp::now()).await?;
    let mut figures = vec![Figure {
        name: format!("synthetic cases written ({backend:?}: {} citizens, {} enterprises, bulk insert)", plan.citizens, plan.enterprises),
        requests: cases,
        concurrency: 1,
        seconds: filled.seconds,
        per_second: cases as f64 / filled.seconds.max(1e-9),
        p50_ms: 0.0,
        p99_ms: 0.0,
    }];

    // A department head of the agency with the most cases, and the demo citizen.
    let agency = crate::demo::agency_uscc("hz_samr")?.as_str().to_string();
    let total = store.count_agency_cases(&[agency.as_str()], None).await?;
    let session = |citizen_id: String| {
        let store = store.clone();
        async move {
            let account = store.account_by_citizen_id(&citizen_id).await?.ok_or_else(|| anyhow::anyhow!("no account {citizen_id}"))?;
            let mut tx = store.begin().await?;
            let s = tx.create_session(&account.id, "pwd", &Default::default(), Timestamp::now()).await?;
            tx.commit().await?;
            anyhow::Ok((format!("yiwang_session={}", s.token), s.csrf))
        }
    };
    let (head, _) = session(crate::demo::citizen_id("33010219800101003")?.to_string()).await?;
    let (citizen, csrf) = session("33010619900101123X".to_string()).await?;
    let sample: Arc<Vec<String>> =
        Arc::new(store.agency_cases(&[agency.as_str()], None, None, 1_000).await?.into_iter().map(|c| c.case_no).collect());
    let node = Node::start(&store).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(32).build()?;
    for clients in [1, 16] {
        let (h, b, cookie, a) = (http.clone(), node.base.clone(), head.clone(), agency.clone());
        let (lat, took) = load(requests, clients, move |_| {
            let req = h.get(format!("{b}/api/v1/workbench/cases?agency={a}&limit=100&count=true")).header("cookie", &cookie);
            async move {
                let v: serde_json::Value = req.send().await?.error_for_status()?.json().await?;
                anyhow::ensure!(
                    v["cases"].as_array().map(Vec::len) == Some(100) && v["total"] == total,
                    "a full first page with the count"
                );
                Ok(())
            }
        })
        .await?;
        figures.push(figure(
            format!("department list, first page of 100 + total ({backend:?}, {cases} cases, {total} in the agency)"),
            lat,
            clients,
            took,
        ));
        let (h, b, cookie, a) = (http.clone(), node.base.clone(), head.clone(), agency.clone());
        let (lat, took) = load(requests, clients, move |_| {
            let req = h.get(format!("{b}/api/v1/workbench/cases?agency={a}&limit=100")).header("cookie", &cookie);
            async move {
                let v: serde_json::Value = req.send().await?.error_for_status()?.json().await?;
                anyhow::ensure!(v["cases"].as_array().map(Vec::len) == Some(100), "a full first page");
                Ok(())
            }
        })
        .await?;
        figures.push(figure(format!("department list, first page of 100, no total ({backend:?}, {cases} cases)"), lat, clients, took));
        let (h, b, cookie, sample) = (http.clone(), node.base.clone(), head.clone(), sample.clone());
        let (lat, took) = load(requests, clients, move |n| {
            let req = h.get(format!("{b}/api/v1/cases/{}", sample[(n * 7919) % sample.len()])).header("cookie", &cookie);
            async move {
                req.send().await?.error_for_status()?;
                Ok(())
            }
        })
        .await?;
        figures.push(figure(format!("one case by number ({backend:?}, {cases} cases)"), lat, clients, took));
    }
    let item = store
        .published_items()
        .await?
        .into_iter()
        .find(|i| i.doc.for_natural_persons() && i.doc.legal_limit.amount > 0)
        .map(|i| i.doc.implementation_code)
        .ok_or_else(|| anyhow::anyhow!("the demo has no item for persons"))?;
    let (h, b) = (http.clone(), node.base.clone());
    let (lat, took) = load(requests.min(2_000), 4, move |_| {
        let body = serde_json::json!({ "item_code": item, "form": { "contact_phone": "13800138000" } });
        let req = h.post(format!("{b}/api/v1/cases")).header("cookie", &citizen).header("x-csrf-token", &csrf).json(&body);
        async move {
            req.send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    figures.push(figure(format!("new application, POST /api/v1/cases ({backend:?}, {cases} cases)"), lat, 4, took));
    node.stop().await;
    store.close().await;
    Ok(figures)
}

/// `yiwang bench trust`: what the trust rules of issue 19 cost. Throttle
/// attempts counted in the database (every login and 查询码 makes one to three),
/// and one case read over HTTP by its applicant (no audit, no masking) next to
/// the same read by a staff member of its agency (an audit entry written and
/// identifiers masked first). `database_url`: an empty database instead of a
/// temporary SQLite file.
pub async fn trust(requests: usize, concurrency: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    let now = Timestamp::now();
    let mut figures = Vec::new();

    // Throttle attempts: `concurrency` clients, each on its own key, as logins from many addresses.
    let policy = yiwang_store::ThrottlePolicy { free_attempts: i64::MAX / 2, ..Default::default() };
    let s = store.clone();
    let (lat, elapsed) = load(requests, concurrency, move |i| {
        let s = s.clone();
        async move {
            s.throttle_attempt(&format!("bench:{}", i % 64), &policy, Timestamp::now()).await?;
            Ok(())
        }
    })
    .await?;
    figures.push(figure("throttle attempt (counted before the check)", lat, concurrency, elapsed));

    // One case, read by its applicant and by a reviewer of its agency.
    let agency = "113301000025000337";
    let mut tx = store.begin().await?;
    tx.upsert_agency(
        &yiwang_store::Agency {
            uscc: agency.into(),
            name: "杭州市市场监督管理局".into(),
            division_code: "330100".into(),
            level: "municipal".into(),
        },
        "bench",
        now,
    )
    .await?;
    let (_, spec) = yiwang_catalog::demo_items::ITEMS
        .iter()
        .find(|(_, s)| s.name == "居民身份证换领")
        .ok_or_else(|| anyhow::anyhow!("demo item missing"))?;
    let place = yiwang_catalog::samples::Place {
        agency: yiwang_catalog::AgencyRef {
            uscc: agency.into(), name: "杭州市市场监督管理局".into(), division_code: "330100".into()
        },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "市民中心".into(),
        phone: "0571-12345".into(),
    };
    let doc = yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    tx.import_item(&doc, true, "bench", now).await?;
    let person = |id: &str, name: &str| NewAccount {
        citizen_id: id.into(),
        name: name.into(),
        phone: None,
        email: None,
        password_hash: None,
        level: RealNameLevel::L2,
        level_source: "bench".into(),
        status: AccountStatus::Active,
    };
    let applicant = tx.create_account(&person("11010519491231002X", "申请人"), "bench", now).await?;
    let reviewer = tx.create_account(&person("330102198001010026", "审查人"), "bench", now).await?;
    tx.grant_staff_role(&reviewer.id, agency, yiwang_identity::Role::Reviewer, "bench", now).await?;
    let own = tx.create_session(&applicant.id, "pwd", &Default::default(), now).await?;
    let staff = tx.create_session(&reviewer.id, "pwd", &Default::default(), now).await?;
    tx.commit().await?;
    let new = yiwang_store::NewCase {
        item_code: doc.implementation_code.clone(),
        applicant: yiwang_store::Applicant { id_type: "111".into(), id: applicant.citizen_id.clone(), name: applicant.name.clone() },
        account_id: applicant.id.clone(),
        form: serde_json::json!({ "contact_phone": "13900000000", "address": "杭州市西湖区文三路1号，身份证11010519491231002X" }),
        hall_id: None,
        level: RealNameLevel::L2,
        assured: true,
    };
    let (case, _) = store.create_case(&new, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let node = Node::start(&store).await?;
    let client = reqwest::Client::new();
    for (name, token) in
        [("case read by its applicant (not audited)", own.token), ("case read by agency staff (audited, masked)", staff.token)]
    {
        let (client, url, cookie) =
            (client.clone(), format!("{}/api/v1/cases/{}", node.base, case.case_no), format!("yiwang_session={token}"));
        let (lat, elapsed) = load(requests, concurrency, move |_| {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            async move {
                let r = client.get(&url).header("cookie", cookie).send().await?;
                anyhow::ensure!(r.status().is_success(), "status {}", r.status());
                Ok(())
            }
        })
        .await?;
        figures.push(figure(name, lat, concurrency, elapsed));
    }
    node.stop().await;
    Ok(figures)
}

/// The three nodes of the aggregation benches: a city and its province
/// (each aggregating upward) and the national node, on loopback.
struct Tiers {
    city: ExchangeNode,
    province: ExchangeNode,
    national: ExchangeNode,
    _dir: tempfile::TempDir,
}

const CITY_NODE: &str = "CN-TEST/NODE/330100";
const PROVINCE_NODE: &str = "CN-TEST/NODE/330000";
const NATIONAL_NODE: &str = "CN-TEST/NODE/000000";
const CITY_MEMBER: &str = "CN-TEST/GOV/113301000025000337";
const PROVINCE_MEMBER: &str = "CN-TEST/GOV/113302000025000417";
const NATIONAL_MEMBER: &str = "CN-TEST/GOV/11100000000013127D";

impl Tiers {
    /// The province on `database_url` (or SQLite); the city and the national
    /// node on SQLite. The province forwards what it gets only when it
    /// `forwards` (aggregates upward itself).
    async fn start(database_url: Option<String>, forwards: bool) -> anyhow::Result<Tiers> {
        use yiwang_exchange::Tier;
        let dir = tempfile::tempdir()?;
        let anchor = yiwang_crypto::seal::SealKey::generate();
        let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        let city = ExchangeNode::start_with(&sqlite("city.db"), CITY_NODE, CITY_MEMBER, &anchor, true).await?;
        let province_url = database_url.unwrap_or_else(|| sqlite("province.db"));
        let province = ExchangeNode::start_with(&province_url, PROVINCE_NODE, PROVINCE_MEMBER, &anchor, forwards).await?;
        let national = ExchangeNode::start_with(&sqlite("national.db"), NATIONAL_NODE, NATIONAL_MEMBER, &anchor, false).await?;
        install_registry(
            &anchor,
            &[
                (NATIONAL_NODE, Tier::National, None, NATIONAL_MEMBER, Some(&national)),
                (PROVINCE_NODE, Tier::Provincial, Some(NATIONAL_NODE), PROVINCE_MEMBER, Some(&province)),
                (CITY_NODE, Tier::Municipal, Some(PROVINCE_NODE), CITY_MEMBER, Some(&city)),
            ],
        )
        .await?;
        Ok(Tiers { city, province, national, _dir: dir })
    }

    async fn stop(self) {
        for n in [self.city, self.province, self.national] {
            n.server.abort();
            n.store.close().await;
        }
    }
}

/// Seal and send a node's outbox, over and over, until `done` says so.
fn pump(node: &ExchangeNode, done: Arc<std::sync::atomic::AtomicBool>) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let (rt, store) = (node.rt.clone(), node.store.clone());
    tokio::spawn(async move {
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let sealed = rt.seal_upward(&store, 20).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let sent = rt.dispatch_once(&store).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if sealed == 0 && sent == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    })
}

/// `n` GB/T 39046 records as a city's case events make them.
fn city_records(from: usize, n: usize) -> Vec<yiwang_store::UpwardRecord> {
    let kinds = ["case.submitted", "case.accepted", "case.step_passed", "case.concluded"];
    (from..from + n)
        .map(|i| yiwang_store::UpwardRecord {
            source_node: String::new(),
            record_id: format!("11330100002500033720261207{:07}.{}", i / 4, i % 4 + 2),
            kind: kinds[i % 4].to_string(),
            agency_uscc: "113301000025000337".into(),
            occurred_at: "2026-12-07T02:00:00.000000Z".into(),
            data: serde_json::json!({
                "case_no": format!("11330100002500033720261207{:07}", i / 4),
                "implementation_code": "11330100002500033730001040100000",
                "item_name": "食品经营许可", "agency_uscc": "113301000025000337", "state": "accepted",
            }),
        })
        .collect()
}

/// `yiwang bench aggregation`: 汇聚 of `records` GB/T 39046 records from a
/// city through its province to the national node, as signed events through
/// the outboxes. The province is down while the city seals its queue; the
/// figure is the catch-up from its restart until the national node holds
/// every record. Then 1 % of the records are queued again at the city and
/// sent: the national node's count must not move (a record is never counted
/// twice), and both parents' message logs verify.
pub async fn aggregation(records: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let mut t = Tiers::start(database_url, true).await?;
    let started = Instant::now();
    const CHUNK: usize = 10_000;
    for from in (0..records).step_by(CHUNK) {
        let mut tx = t.city.store.begin().await?;
        tx.queue_upward(&city_records(from, CHUNK.min(records - from)), Timestamp::now()).await?;
        tx.commit().await?;
    }
    let queued = started.elapsed();
    // The outage: the province is down while the city seals everything.
    t.province.stop().await;
    let started = Instant::now();
    let mut sealed = 0;
    loop {
        let n = t.city.rt.seal_upward(&t.city.store, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if n == 0 {
            break;
        }
        sealed += n;
    }
    let sealing = started.elapsed();
    anyhow::ensure!(sealed == records, "sealed {sealed} of {records}");
    anyhow::ensure!(t.city.rt.dispatch_once(&t.city.store).await.map_err(|e| anyhow::anyhow!("{e}"))? == 0, "delivered while down");
    // Back: the catch-up, city → province → national.
    t.province.restart().await?;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let pumps = [pump(&t.city, done.clone()), pump(&t.province, done.clone())];
    let deadline = Instant::now() + Duration::from_secs(3600);
    while (t.national.store.aggregated_totals().await? as usize) < records {
        anyhow::ensure!(Instant::now() < deadline, "the catch-up took over an hour");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let catch_up = started.elapsed();
    // 1 % again: nothing is counted twice.
    let again = (records / 100).max(1);
    let mut tx = t.city.store.begin().await?;
    tx.queue_upward(&city_records(0, again), Timestamp::now()).await?;
    tx.commit().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.city.store.upward_queue_len().await? > 0 || t.city.store.exchange_outbox_depth().await?.0 > 0 {
        anyhow::ensure!(Instant::now() < deadline, "the resend did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in pumps {
        p.await??;
    }
    let (province_held, national_held) = (t.province.store.aggregated_totals().await?, t.national.store.aggregated_totals().await?);
    anyhow::ensure!(
        province_held as usize == records && national_held as usize == records,
        "held {province_held} at the province and {national_held} at the national node, of {records}"
    );
    for (name, n) in [("province", &t.province), ("national", &t.national)] {
        let report = n.store.exchange_log_verify().await?;
        anyhow::ensure!(matches!(report, yiwang_store::LogReport::Intact { .. }), "the {name} log: {report:?}");
    }
    let backend = t.province.store.backend();
    t.stop().await;
    let messages = records.div_ceil(yiwang_web::exchange_async::RECORDS_PER_MESSAGE);
    let per_record = |d: Duration| vec![d / records.max(1) as u32; records];
    Ok(vec![
        figure("汇聚: records queued at the city (GB/T 39046, 10,000 per transaction)", per_record(queued), 1, queued),
        figure(
            format!("汇聚: records sealed into {messages} signed events for the parent (1,000 per event)"),
            per_record(sealing),
            1,
            sealing,
        ),
        figure(
            format!(
                "汇聚: catch-up after the province's outage, city → province ({backend:?}) → national, until the national node holds every record once"
            ),
            per_record(catch_up),
            1,
            catch_up,
        ),
    ])
}

/// `yiwang bench exchange-async`: one-way events between two nodes on
/// loopback. Each is sealed, logged and queued in its own transaction
/// (`messages` of them, `concurrency` at a time); then the dispatcher sends
/// them (32 in flight) until every one has its signed receipt, and the
/// receiver has logged and acted on each once. Latency of the second figure
/// is each round's time shared out among its deliveries.
pub async fn exchange_async(messages: usize, concurrency: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    use yiwang_exchange::{ClientId, NodeId};
    // The receiver keeps each event's record and forwards nothing: one write per event, as a request's answer would be.
    let t = Tiers::start(database_url, false).await?;
    let from = ClientId::parse(CITY_MEMBER)?;
    let to = NodeId::parse(PROVINCE_NODE)?;
    let service = format!("{PROVINCE_MEMBER}/stats/records/v1");
    let (rt, store) = (t.city.rt.clone(), t.city.store.clone());
    let (lat, took) = load(messages, concurrency, move |i| {
        let (rt, store, from, to, service) = (rt.clone(), store.clone(), from.clone(), to.clone(), service.clone());
        async move {
            let mut record = city_records(i, 1);
            record[0].source_node = CITY_NODE.into();
            let body = serde_json::to_vec(&serde_json::json!({ "records": record }))?;
            let mut tx = store.begin().await?;
            let out = yiwang_web::exchange_async::EventOut {
                from: &from,
                to: &to,
                service: &service,
                content_type: "application/json",
                body: &body,
            };
            rt.enqueue_event(&mut tx, out).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            tx.commit().await?;
            Ok(())
        }
    })
    .await?;
    let queued = figure("gx/1 one-way events sealed, logged and queued in the outbox (one transaction each)", lat, concurrency, took);
    let started = Instant::now();
    let mut lat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let round = Instant::now();
        let sent = t.city.rt.dispatch_once(&t.city.store).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if sent == 0 {
            if t.city.store.exchange_outbox_depth().await?.0 == 0 {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the outbox did not drain");
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        lat.extend(std::iter::repeat_n(round.elapsed() / sent as u32, sent));
    }
    let took = started.elapsed();
    let held = t.province.store.aggregated_totals().await? as usize;
    anyhow::ensure!(held == messages && lat.len() == messages, "{} receipts and {held} records held, of {messages}", lat.len());
    for (name, n) in [("sender", &t.city), ("receiver", &t.province)] {
        let want = yiwang_store::LogReport::Intact { entries: 2 * messages as i64 };
        let report = n.store.exchange_log_verify().await?;
        anyhow::ensure!(report == want, "the {name}'s log: {report:?}, not {want:?}");
    }
    let backend = t.province.store.backend();
    t.stop().await;
    Ok(vec![
        queued,
        figure(
            format!(
                "gx/1 one-way events delivered with signed receipts (receiver {backud:?}; 32 in flight; both logs verified)",
                backud = backend
            ),
            lat,
            yiwang_web::exchange_async::WINDOW,
            took,
        ),
    ])
}

/// `yiwang bench supervision`: 电子监察 over `cases` accepted cases with a few
/// events each (accepted weeks ago, so the time rules fire, and returned three
/// times): the pure evaluation per case; the consumer draining the marked
/// cases (evaluate and keep the alerts); and one event to its alert kept,
/// write and evaluation in one go (`serve` polls every 50 ms on top).
pub async fn supervision(cases: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    use yiwang_case::{Envelope, Event};
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    let master = Arc::new(yiwang_crypto::seal::MasterKey::generate());
    crate::demo::seed(&store, &master).await?;
    let calendar = store.load_calendar().await?;
    let item = store
        .published_items()
        .await?
        .into_iter()
        .find(|p| {
            p.doc.name == "食品经营许可"
                && p.doc.agency.uscc == crate::demo::agency_uscc("hz_samr").map(|u| u.as_str().to_string()).unwrap_or_default()
        })
        .ok_or_else(|| anyhow::anyhow!("the demo has no 杭州 食品经营许可"))?;
    let accepted_at: Timestamp = "2026-11-02T02:00:00Z".parse()?;
    let event = |at: Timestamp, event: Event, reason: &str| Envelope { at, actor: "bench-clerk".into(), reason: reason.into(), event };
    let mut numbers = Vec::with_capacity(cases);
    for n in 0..cases {
        let new = yiwang_store::NewCase {
            item_code: item.doc.implementation_code.clone(),
            applicant: yiwang_store::Applicant {
                id_type: "049".into(),
                id: crate::demo::uscc("91", "330106", &format!("MB{n:06}"))?.as_str().into(),
                name: format!("压测企业{n}"),
            },
            account_id: "bench".into(),
            form: serde_json::json!({}),
            hall_id: None,
            level: yiwang_identity::RealNameLevel::L3,
            assured: true,
        };
        let (c, _) = store.create_case(&new, Timestamp::now()).await.map_err(|e| anyhow::anyhow!("case: {e}"))?;
        let accept =
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
        let mut history = vec![event(accepted_at, Event::Submitted, ""), event(accepted_at, accept, "")];
        for _ in 0..3 {
            history.push(event(accepted_at, Event::StepStarted { step: "审查".into() }, ""));
            history.push(event(accepted_at, Event::StepReturned { step: "审查".into() }, "材料需补正"));
        }
        for e in &history {
            store.record_case_event(&c.case_no, e, None, &calendar).await.map_err(|e| anyhow::anyhow!("event: {e}"))?;
        }
        numbers.push(c.case_no);
    }
    let rules = yiwang_supervision::RuleSet::default();
    let now = Timestamp::now();
    let mut figures = Vec::new();

    // The pure evaluation, per case (its events read beforehand).
    let mut histories = Vec::with_capacity(cases);
    for no in &numbers {
        histories.push((store.case(no).await?, store.case_events(no).await?));
    }
    let item_facts = yiwang_web::supervision::item_facts(&item.doc);
    let started = Instant::now();
    let mut lat = Vec::with_capacity(cases);
    let mut raised = 0;
    for (c, events) in &histories {
        let t = Instant::now();
        let facts = yiwang_supervision::CaseFacts {
            case_no: &c.case_no,
            agency_uscc: &c.agency_uscc,
            item: &item_facts,
            attached: &[],
            runs_process: c.process.is_some(),
            issued_licenses: None,
        };
        raised += yiwang_supervision::evaluate(&rules, facts, events, &calendar, now).len();
        lat.push(t.elapsed());
    }
    figures.push(figure(
        format!("supervision evaluate, pure, per case of {} events ({raised} alerts)", histories[0].1.len()),
        lat,
        1,
        started.elapsed(),
    ));

    // The consumer draining every marked case, as serve runs it.
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut kept = 0;
    loop {
        let t = Instant::now();
        let (n, new) = yiwang_web::supervision::supervise_once(&store, &rules, 200, now).await?;
        if n == 0 {
            break;
        }
        kept += new;
        lat.extend(std::iter::repeat_n(t.elapsed() / n as u32, n));
    }
    figures.push(figure(format!("supervision consumer, {cases} marked cases ({kept} alerts kept)"), lat, 1, started.elapsed()));

    // One event to its alert kept: the case write, then the consumer's pass.
    let started = Instant::now();
    let mut lat = Vec::new();
    for (i, no) in numbers.iter().take(cases.min(500)).enumerate() {
        let t = Instant::now();
        let overdue = Event::StepOverdue { step: "审查".into(), due: format!("2026-11-0{}T09:00:00Z", 3 + i % 5) };
        store
            .record_case_event(no, &event(Timestamp::now(), overdue, ""), None, &calendar)
            .await
            .map_err(|e| anyhow::anyhow!("event: {e}"))?;
        let (_, new) = yiwang_web::supervision::supervise_once(&store, &rules, 200, Timestamp::now()).await?;
        anyhow::ensure!(new == 1, "the step_overdue alert was not kept");
        lat.push(t.elapsed());
    }
    figures.push(figure("supervision event → alert kept (write + evaluate; serve adds its 50 ms poll)", lat, 1, started.elapsed()));
    store.close().await;
    Ok(figures)
}

/// The demo node with `cases` synthetic cases bulk-loaded (spread over the
/// last year), on `database_url` or a SQLite file in the returned directory.
async fn demo_with_cases(cases: usize, database_url: Option<String>) -> anyhow::Result<(tempfile::TempDir, Store)> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url, &StoreOptions::default(), Timestamp::now()).await?;
    let master = Arc::new(yiwang_crypto::seal::MasterKey::generate());
    crate::demo::seed(&store, &master).await?;
    let loaded = Instant::now();
    crate::synthetic::fill(&store, crate::synthetic::Plan { citizens: 1_000, enterprises: 1_000, cases }, Timestamp::now()).await?;
    eprintln!("loaded {cases} cases in {:.0} s", loaded.elapsed().as_secs_f64());
    Ok((dir, store))
}

/// `yiwang bench supervision-sweep`: the daily sweep over `cases` open cases
/// (synthetic, bulk-loaded), one in `one_in` due on the swept day: the claimed
/// sweep marking the due ones through the check-day index, a day with none
/// due, and another process asking for a day already swept.
pub async fn supervision_sweep(cases: usize, one_in: i64, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let (_dir, store) = demo_with_cases(cases, database_url).await?;
    let due = store.spread_check_days("2099-01-05", "2099-06-01", one_in).await?;
    store.after_bulk_load().await?;
    eprintln!("{due} due on the swept day");
    let mut figures = Vec::new();
    let day = |d: &str| d.parse::<jiff::civil::Date>();

    let started = Instant::now();
    let marked = yiwang_web::supervision::sweep(&store, day("2099-01-05")?, "bench-1").await?;
    let took = started.elapsed();
    anyhow::ensure!(marked == Some(due), "the sweep marked {marked:?}, {due} were due");
    figures.push(figure(format!("supervision sweep over {cases} open cases, {due} due, claimed and marked"), vec![took], 1, took));

    let started = Instant::now();
    let marked = yiwang_web::supervision::sweep(&store, day("2099-01-06")?, "bench-1").await?;
    let took = started.elapsed();
    anyhow::ensure!(marked == Some(0), "nothing was due on the next day: {marked:?}");
    figures.push(figure(format!("supervision sweep over {cases} open cases, none due"), vec![took], 1, took));

    let mut lat = Vec::new();
    let started = Instant::now();
    for _ in 0..100 {
        let t = Instant::now();
        anyhow::ensure!(yiwang_web::supervision::sweep(&store, day("2099-01-05")?, "bench-2").await? == Some(0));
        lat.push(t.elapsed());
    }
    figures.push(figure("supervision sweep asked again by another process (already done)", lat, 1, started.elapsed()));

    // 监察结果公开 over the same cases: the two grouped queries behind a year's figures.
    let now = Timestamp::now();
    let year = yiwang_calendar::china_today(now).year();
    let today = yiwang_calendar::china_today(now).to_string();
    let mut lat = Vec::new();
    let started = Instant::now();
    let mut agencies = 0;
    for _ in 0..3 {
        let t = Instant::now();
        agencies = store.public_counts(year, &today).await?.len();
        lat.push(t.elapsed());
    }
    figures.push(figure(
        format!("public figures for {year} over {cases} cases ({agencies} agencies; cached 5 min)"),
        lat,
        1,
        started.elapsed(),
    ));
    store.close().await;
    Ok(figures)
}

/// The five evaluation indicators over N synthetic cases (spread over the
/// last year): every agency's counts for the period, the scoring of what an
/// administrator reads, and the PDF report (docs/benchmarks.md).
pub async fn indicators(cases: usize, database_url: Option<String>) -> anyhow::Result<Vec<Figure>> {
    let (_dir, store) = demo_with_cases(cases, database_url).await?;
    store.after_bulk_load().await?;
    let identity = yiwang_web::IdentityRuntime::new(&yiwang_web::IdentitySettings::default(), "127.0.0.1:1");
    let state = yiwang_web::AppState::new(store.clone(), identity);
    let to = yiwang_calendar::china_today(Timestamp::now());
    // The synthetic cases go back a year and a week.
    let from = to.checked_sub(jiff::Span::new().days(400))?;
    let mut figures = Vec::new();

    let mut lat = Vec::new();
    let started = Instant::now();
    let mut counted = None;
    for _ in 0..3 {
        let t = Instant::now();
        counted = Some(yiwang_web::indicators::count(&state, from, to).await.map_err(|e| anyhow::anyhow!("counting: {e:?}"))?);
        lat.push(t.elapsed());
    }
    let counted = counted.ok_or_else(|| anyhow::anyhow!("nothing counted"))?;
    let applications: f64 = counted
        .agencies
        .values()
        .filter_map(|(_, _, t)| t.ratios.get(&yiwang_supervision::indicators::Sub::OnlineRate))
        .map(|r| r.den)
        .sum();
    anyhow::ensure!(applications as usize + 100 >= cases, "counted {applications} applications of {cases}");
    figures.push(figure(
        format!("indicators: counting {} agencies' items, {applications} cases and ratings for 400 days", counted.agencies.len()),
        lat,
        1,
        started.elapsed(),
    ));

    let weights = yiwang_supervision::indicators::Weights::default();
    let mut lat = Vec::new();
    let started = Instant::now();
    let mut scored = None;
    for _ in 0..100 {
        let t = Instant::now();
        scored = Some(yiwang_web::indicators::scored_all(&counted, &weights));
        lat.push(t.elapsed());
    }
    let scored = scored.ok_or_else(|| anyhow::anyhow!("nothing scored"))?;
    figures.push(figure(
        format!("indicators: scoring {} agencies and {} regions", scored.agencies.len(), scored.regions.len()),
        lat,
        1,
        started.elapsed(),
    ));

    let printer = yiwang_print::Printer::new();
    let doc = yiwang_web::indicators::report_doc(&scored);
    let mut lat = Vec::new();
    let started = Instant::now();
    for _ in 0..5 {
        let t = Instant::now();
        let pdf = printer.pdf(yiwang_print::Template::TableReport, &doc)?;
        anyhow::ensure!(pdf.starts_with(b"%PDF-"));
        lat.push(t.elapsed());
    }
    figures.push(figure("indicators: the PDF report", lat, 1, started.elapsed()));
    store.close().await;
    Ok(figures)
}
