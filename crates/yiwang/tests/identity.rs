//! Unified identity end to end, through the binary: an off-the-shelf OIDC relying
//! party (Python Authlib) against a running node, registration with a code sent
//! through the outbox, base-data import, login back-off, key rotation, and
//! federated login between two running nodes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;
use yiwang_testkit::both_backends;

const DEMO_PASSWORD: &str = "Demo-2026";
const ZHANG_PHONE: &str = "13800000001";

fn yiwang(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yiwang")).args(args).env_remove("YIWANG_CONFIG").output().unwrap()
}

fn peer_script(name: &str) -> String {
    format!("{}/../../tests/peers/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A second, independent browser (its own cookies).
fn other_browser() -> reqwest::Client {
    browser()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no hidden field {name} in {html}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    // askama escapes &, <, >, ", ' and /; undo what can occur in our values.
    html[start..end]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&#x3d;", "=")
}

fn location(r: &reqwest::Response, base: &str) -> String {
    assert!(r.status().is_redirection(), "expected a redirect, got {}", r.status());
    let loc = r.headers()["location"].to_str().unwrap();
    if loc.starts_with("http") { loc.to_string() } else { format!("{base}{loc}") }
}

/// Log in through the node's login form; returns where the form sent us.
async fn login_form(b: &reqwest::Client, base: &str, login_url: &str, login: &str, password: &str) -> reqwest::Response {
    let page = b.get(login_url).send().await.unwrap().text().await.unwrap();
    b.post(format!("{base}/login"))
        .form(&[("login", login), ("password", password), ("csrf", &hidden(&page, "csrf")), ("next", &hidden(&page, "next"))])
        .send()
        .await
        .unwrap()
}

both_backends!(authlib_relying_party_drives_the_whole_flow, |db| {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let s = Server::start(&["--database-url", &db.url, "--data-dir", data, "demo", "--listen", "127.0.0.1:0"]);
    let out = Command::new("python3")
        .arg(peer_script("oidc_rp_authlib.py"))
        .env("ISSUER", &s.base)
        .env("CLIENT_ID", "demo-rp")
        .env("CLIENT_SECRET", "demo-rp-secret-2026")
        .env("REDIRECT_URI", "http://127.0.0.1:9000/callback")
        .env("POST_LOGOUT_URI", "http://127.0.0.1:9000/")
        .env("LOGIN", ZHANG_PHONE)
        .env("PASSWORD", DEMO_PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "Authlib relying party failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["consent"], "shown", "a new client must ask for consent: {v}");
    assert_eq!(v["token"]["id_token_alg"], "ES256");
    assert_eq!(v["userinfo"]["id_number_masked"], "3301**********123X");
    for step in ["discovery", "login", "sso", "code_replay", "logout"] {
        assert_eq!(v[step], true, "{step}: {v}");
    }
    assert_eq!(v["refresh"]["reuse_detection"], true);
    s.stop();

    // Key rotation: the new key signs, the old one stays published for the grace period.
    let o = yiwang(&["--database-url", &db.url, "--data-dir", data, "oidc", "rotate-key"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = Server::start(&["--database-url", &db.url, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"]);
    let (status, _, body) = s.get("/oidc/jwks").await;
    assert_eq!(status, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    s.stop();
    assert!(yiwang(&["--database-url", &db.url, "audit", "verify"]).status.success());
});

fn spool_code(spool: &Path, channel: &str, recipient: &str) -> String {
    let dir = spool.join(channel).join(recipient);
    for _ in 0..100 {
        if let Some(Ok(entry)) = std::fs::read_dir(&dir).ok().and_then(|mut d| d.next()) {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let i = text.find("验证码为 ").unwrap() + "验证码为 ".len();
            return text[i..i + 6].to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no message for {recipient} in {}", dir.display());
}

/// Every message spooled for `recipient`, in no particular order.
fn spool_messages(spool: &Path, channel: &str, recipient: &str) -> Vec<String> {
    let dir = spool.join(channel).join(recipient);
    std::fs::read_dir(&dir).map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()).unwrap_or_default()
}

/// Wait until `recipient` has a message containing `needle`.
fn wait_for_message(spool: &Path, channel: &str, recipient: &str, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(m) = spool_messages(spool, channel, recipient).into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no message with {needle:?} for {recipient}");
}

both_backends!(registration_imports_and_backoff, |db| {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // 人口库 import: the bad rows are reported by row and field, the good ones kept.
    let csv = dir.path().join("persons.csv");
    std::fs::write(
        &csv,
        "citizen_id,name,birth_date,address_division,status\n\
         110105194912310021,坏校验,1949-12-31,110105,normal\n\
         11010519491231002X,钱多多,1949-12-31,110105,normal\n\
         110101199003074477,日期错,1990-03-08,110101,normal\n",
    )
    .unwrap();
    let o = yiwang(&["--database-url", &db.url, "--data-dir", data, "base", "import-persons", csv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "rejected rows give exit 1");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((report["imported"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(2)), "{report}");
    assert_eq!(report["errors"][0]["row"], 2);
    assert_eq!(report["errors"][0]["field"], "citizen_id");
    assert_eq!(report["errors"][1]["row"], 4);
    assert_eq!(report["errors"][1]["field"], "birth_date");

    let s = Server::start(&["--database-url", &db.url, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"]);
    let b = browser();
    let page = b.get(format!("{}/register", s.base)).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let form = |pw: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("citizen_id", "11010519491231002x".to_string()),
            ("name", "钱多多".to_string()),
            ("contact", "qian@example.cn".to_string()),
            ("password", pw.to_string()),
            ("password2", pw.to_string()),
        ]
    };
    // A weak password is refused with a message and creates nothing.
    let r = b.post(format!("{}/register", s.base)).form(&form("short")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("密码强度不足"));
    // Without the CSRF token nothing happens.
    let r = b.post(format!("{}/register", s.base)).form(&form("Good-Pass-1")[1..]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = b.post(format!("{}/register", s.base)).form(&form("Good-Pass-1")).send().await.unwrap();
    let verify = location(&r, &s.base);
    assert!(verify.contains("/register/verify?registration="), "{verify}");
    let account = verify.split("registration=").nth(1).unwrap().to_string();
    // Not yet verified: no account exists (a registration holds nothing), so no login.
    let r = login_form(&b, &s.base, &format!("{}/login", s.base), "qian@example.cn", "Good-Pass-1").await;
    assert_eq!(r.status(), 401);
    let code = spool_code(&dir.path().join("outbox"), "email", "qian@example.cn");
    let page = b.get(&verify).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("q***@example.cn"), "contact is masked");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = b
        .post(format!("{}/register/verify", s.base))
        .form(&[("csrf", csrf.as_str()), ("registration", &account), ("code", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = b
        .post(format!("{}/register/verify", s.base))
        .form(&[("csrf", csrf.as_str()), ("registration", &account), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r, &s.base), format!("{}/account?welcome=1", s.base));
    // The name and number match the imported 人口库 row: L2.
    let me: serde_json::Value = b.get(format!("{}/api/v1/me", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["real_name_level"], 2, "{me}");
    assert_eq!(me["id_number_masked"], "1101**********002X");

    // Issue 19, finding 12: registering a known ID number or contact answers exactly
    // like a new one, and holds nothing.
    let spool = dir.path().join("outbox");
    let b5 = browser();
    let page = b5.get(format!("{}/register", s.base)).send().await.unwrap().text().await.unwrap();
    let csrf5 = hidden(&page, "csrf");
    let again = |id: &str, contact: &str| {
        vec![
            ("csrf", csrf5.clone()),
            ("citizen_id", id.to_string()),
            ("name", "钱多多".to_string()),
            ("contact", contact.to_string()),
            ("password", "Other-Pass-2".to_string()),
            ("password2", "Other-Pass-2".to_string()),
        ]
    };
    // The same ID number with another contact: the usual answer; the code goes to that contact.
    let r = b5.post(format!("{}/register", s.base)).form(&again("11010519491231002X", "other@example.cn")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let verify2 = location(&r, &s.base);
    assert!(verify2.contains("/register/verify?registration="), "{verify2}");
    let reg2 = verify2.split("registration=").nth(1).unwrap().to_string();
    let code2 = spool_code(&spool, "email", "other@example.cn");
    // Proving the contact tells only that an account exists; the holder is told of the attempt.
    let r = b5
        .post(format!("{}/register/verify", s.base))
        .form(&[("csrf", csrf5.as_str()), ("registration", &reg2), ("code", &code2)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("已有账号"));
    wait_for_message(&spool, "email", "qian@example.cn", "有人尝试用您的身份证号注册");
    // A known contact with a new ID number: the same answer, but the contact gets a notice, no code.
    let r = b5.post(format!("{}/register", s.base)).form(&again("110101199003074477", "qian@example.cn")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r, &s.base).contains("/register/verify?registration="));
    wait_for_message(&spool, "email", "qian@example.cn", "有人尝试用本联系方式注册");
    assert!(spool_messages(&spool, "email", "qian@example.cn").iter().filter(|m| m.contains("验证码为")).count() == 1, "no second code");

    // Back-off: the fifth failure locks the account for a while, even for the right password.
    let b2 = browser();
    for _ in 0..4 {
        let r = login_form(&b2, &s.base, &format!("{}/login", s.base), "qian@example.cn", "wrong-password-1").await;
        assert_eq!(r.status(), 401);
    }
    let r = login_form(&b2, &s.base, &format!("{}/login", s.base), "qian@example.cn", "wrong-password-1").await;
    assert_eq!(r.status(), 429);
    let r = login_form(&b2, &s.base, &format!("{}/login", s.base), "qian@example.cn", "Good-Pass-1").await;
    assert_eq!(r.status(), 429, "locked even with the right password");
    assert!(r.text().await.unwrap().contains("秒后重试"));

    // Logout everywhere ends the first browser's session too.
    let b3 = browser();
    let r = login_form(&b3, &s.base, &format!("{}/login", s.base), "11010519491231002X", "Good-Pass-1").await;
    assert_eq!(r.status(), 429, "the lock is per account, across browsers");
    let page = b.get(format!("{}/account", s.base)).send().await.unwrap().text().await.unwrap();
    let r = b.post(format!("{}/logout/all", s.base)).form(&[("csrf", hidden(&page, "csrf"))]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(b.get(format!("{}/api/v1/me", s.base)).send().await.unwrap().status(), 401);
    s.stop();
});

// Node B runs on each backend (A is the demo province on SQLite).
both_backends!(federated_login_between_two_nodes, |db| {
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let b_dir = dir.path().join("b");
    // Node A: the demo province, where 张三 is registered.
    let a = Server::start(&["--data-dir", a_dir.to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
    // Node B listens on another loopback address so the two nodes' cookies stay apart.
    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let b_base = format!("http://127.0.0.2:{port}");
    let o = yiwang(&[
        "--data-dir",
        a_dir.to_str().unwrap(),
        "oidc",
        "add-client",
        "--client-id",
        "node-b",
        "--name",
        "乙省政务服务平台",
        "--redirect-uri",
        &format!("{b_base}/federation/zj/callback"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout).into_owned();
    let secret = printed.lines().find_map(|l| l.strip_prefix("client_secret=")).unwrap().to_string();
    // At B, 张三's ID number already has an account: a reviewer's, with a password and
    // staff roles. A login at A must not take it over (issue 19, finding 3).
    let b_dir_s = b_dir.to_str().unwrap();
    let o = yiwang(&[
        "--data-dir",
        b_dir_s,
        "--database-url",
        &db.url,
        "agency",
        "add",
        "--uscc",
        "113301000025000337",
        "--name",
        "乙市市场监督管理局",
        "--division",
        "330100",
        "--level",
        "municipal",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = yiwang(&[
        "--data-dir",
        b_dir_s,
        "--database-url",
        &db.url,
        "staff",
        "add",
        "--citizen-id",
        "33010619900101123X",
        "--name",
        "张三",
        "--agency",
        "113301000025000337",
        "--role",
        "reviewer",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let local_password = String::from_utf8_lossy(&o.stdout).lines().find_map(|l| l.strip_prefix("password=")).unwrap().to_string();
    let config = dir.path().join("b.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\npublic_url = \"{b_base}\"\n\n[[identity.federation]]\nname = \"zj\"\nlabel = \"浙江省统一身份认证\"\nissuer = \"{}\"\nclient_id = \"node-b\"\nclient_secret = \"{secret}\"\n\n[[identity.federation]]\nname = \"down\"\nlabel = \"停机的节点\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
            a.base
        ),
    )
    .unwrap();
    let b = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        b_dir.to_str().unwrap(),
        "--database-url",
        &db.url,
        "serve",
        "--listen",
        &format!("127.0.0.2:{port}"),
    ]);
    assert_eq!(b.base, b_base);
    let shown = String::from_utf8_lossy(&yiwang(&["--config", config.to_str().unwrap(), "check-config"]).stdout).into_owned();
    assert!(!shown.contains(&secret) && shown.contains("REDACTED"), "{shown}");

    let browser = browser();
    // A trusted node that is down: a clear 503 page, not a 500.
    let r = browser.get(format!("{b_base}/federation/down/login")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("停机的节点 暂不可用"));
    // B's login page offers A's provider.
    let page = browser.get(format!("{b_base}/login")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("浙江省统一身份认证") && page.contains("/federation/zj/login"));
    let r = browser.get(format!("{b_base}/federation/zj/login?next=/account")).send().await.unwrap();
    let authorize = location(&r, &b_base);
    assert!(authorize.starts_with(&format!("{}/oidc/authorize", a.base)), "{authorize}");
    let r = browser.get(&authorize).header("accept", "text/html").send().await.unwrap();
    let login = location(&r, &a.base);
    let r = login_form(&browser, &a.base, &login, ZHANG_PHONE, DEMO_PASSWORD).await;
    let back = location(&r, &a.base);
    // A asks 张三 to release the full ID number to B (scope idcard).
    let page = browser.get(&back).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("乙省政务服务平台") && page.contains("完整身份证号"), "{page}");
    let r = browser
        .post(format!("{}/oidc/authorize", a.base))
        .form(&[("csrf", hidden(&page, "csrf")), ("request", hidden(&page, "request")), ("decision", "allow".into())])
        .send()
        .await
        .unwrap();
    let callback = location(&r, &a.base);
    assert!(callback.starts_with(&format!("{b_base}/federation/zj/callback")), "{callback}");
    // Login CSRF: another browser handed this callback gets nothing (the flow is this browser's).
    let r = other_browser().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403, "a callback in another browser is refused");
    // The local reviewer account is not linked without its owner: a confirmation page, no session.
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 200, "not linked: {:?}", r.headers().get("location"));
    let page = r.text().await.unwrap();
    assert!(page.contains("只有账号本人确认后才能关联") && page.contains("/federation/zj/confirm"), "{page}");
    assert_eq!(browser.get(format!("{b_base}/api/v1/me")).send().await.unwrap().status(), 401, "no session before confirmation");
    let r = browser
        .post(format!("{b_base}/federation/zj/confirm"))
        .form(&[("csrf", hidden(&page, "csrf")), ("password", "Wrong-pass-2026".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    let r = browser
        .post(format!("{b_base}/federation/zj/confirm"))
        .form(&[("csrf", hidden(&page, "csrf")), ("password", local_password.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r, &b_base), format!("{b_base}/account"));
    let me: serde_json::Value = browser.get(format!("{b_base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["name"], "张三", "{me}");
    assert_eq!(me["id_number_masked"], "3301**********123X");
    assert_eq!(me["real_name_level"], 2, "the reviewer account is L3, but this session carries what A vouched for (L2, B's cap)");
    let first_account = me["account_id"].clone();

    // A second visit: A's session and consent hold (single sign-on), B finds the link.
    let page = browser.get(format!("{b_base}/account")).send().await.unwrap().text().await.unwrap();
    browser.post(format!("{b_base}/logout")).form(&[("csrf", hidden(&page, "csrf"))]).send().await.unwrap();
    assert_eq!(browser.get(format!("{b_base}/api/v1/me")).send().await.unwrap().status(), 401);
    let r = browser.get(format!("{b_base}/federation/zj/login")).send().await.unwrap();
    let r = browser.get(location(&r, &b_base)).send().await.unwrap();
    let callback = location(&r, &a.base);
    assert!(callback.starts_with(&format!("{b_base}/federation/zj/callback")), "SSO at A: {callback}");
    let r = browser.get(&callback).send().await.unwrap();
    assert!(r.status().is_redirection());
    let me: serde_json::Value = browser.get(format!("{b_base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["account_id"], first_account, "the same local account");
    // A replayed callback (state already used) is refused.
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    b.stop();
    a.stop();
    // Both nodes' audit chains hold: A logged the ID release, B the federated login.
    assert!(yiwang(&["--data-dir", a_dir.to_str().unwrap(), "audit", "verify"]).status.success());
    let log =
        String::from_utf8_lossy(&yiwang(&["--data-dir", a_dir.to_str().unwrap(), "audit", "list", "--limit", "1000"]).stdout).into_owned();
    assert!(log.contains("personal_data.released"));
    let log = String::from_utf8_lossy(
        &yiwang(&["--data-dir", b_dir.to_str().unwrap(), "--database-url", &db.url, "audit", "list", "--limit", "1000"]).stdout,
    )
    .into_owned();
    assert!(log.contains("account.federated_login"));
});

/// Every demo account the README lists logs in with the documented password, and
/// staff reach the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_demo_accounts_log_in() {
    let readme = std::fs::read_to_string(format!("{}/../../README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let section = &readme[readme.find("### Demo accounts").unwrap()..readme.find("## Operator guide").unwrap()];
    assert!(section.contains(&format!("**`{DEMO_PASSWORD}`**")));
    let staff_from = section.find("Staff (").unwrap();
    let logins: Vec<(String, bool)> = section
        .lines()
        .scan(0usize, |offset, l| {
            let at = *offset;
            *offset += l.len() + 1;
            Some((at, l))
        })
        .filter(|(_, l)| l.starts_with("| ") && !l.starts_with("| who") && l.contains('`'))
        .map(|(at, l)| (l.split('`').nth(1).unwrap().to_string(), at > staff_from))
        .collect();
    assert_eq!(logins.len(), 15, "4 citizens and 11 staff: {logins:?}");
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&["--data-dir", dir.path().to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
    for (login, is_staff) in logins {
        let b = browser();
        let r = login_form(&b, &s.base, &format!("{}/login", s.base), &login, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 303, "{login} cannot log in");
        let console = b.get(format!("{}/console", s.base)).send().await.unwrap().status().as_u16();
        assert_eq!(console, if is_staff { 200 } else { 403 }, "{login}: console");
    }
    s.stop();
}
