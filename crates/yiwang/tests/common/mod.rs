//! Shared by the binary's integration tests: a running `yiwang` server process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `yiwang` process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yiwang"))
            .args(args)
            .envs(env.iter().copied())
            .env_remove("YIWANG_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("server exited before listening").unwrap();
            if let Some(i) = line.find("http://") {
                break line[i..].trim().to_string();
            }
        };
        Server { child, base }
    }

    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    /// SIGTERM, and the process must exit by itself.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful shutdown failed: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Python peers (tests/peers): a real SMTP server, an SMS gateway.

/// A peer process, killed on drop.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_peer(script: &str, args: &[&str]) -> Peer {
    let path = format!("{}/../../tests/peers/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3").arg(path).args(args).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("peer exited before it was ready").unwrap();
    assert_eq!(first.trim(), "ready", "{script}");
    Peer(child)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A private CA and a certificate for 127.0.0.1 signed by it.
pub fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=yiwang test CA",
        ],
    );
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "smtp.key", "-out", "smtp.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "smtp.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "smtp.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// Every JSON record in `dir`, waiting until `want` of them match or time runs out.
pub fn wait_for(dir: &Path, want: usize, matches: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: Vec<serde_json::Value> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok())
            .filter(|v| matches(v))
            .collect();
        if found.len() >= want || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no hidden field {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// A staff member's session over HTTP, through the login form: a client that
/// keeps the cookie, and the session's CSRF token.
pub struct Session {
    pub http: reqwest::Client,
    pub csrf: String,
    pub base: String,
}

impl Session {
    pub async fn login(base: &str, password: &str, login: &str) -> Session {
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let page = http.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
        let form = [("login", login), ("password", password), ("csrf", &hidden(&page, "csrf")), ("next", "/account")];
        let r = http.post(format!("{base}/login")).form(&form).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "login of {login}");
        let page = http.get(format!("{base}/account")).send().await.unwrap().text().await.unwrap();
        Session { http, csrf: hidden(&page, "csrf"), base: base.to_string() }
    }

    pub async fn json(&self, method: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.http.request(method, format!("{}{path}", self.base)).header("x-csrf-token", &self.csrf);
        if !body.is_null() {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default())
    }

    pub async fn event(&self, no: &str, event: serde_json::Value, reason: &str) -> serde_json::Value {
        let (status, v) =
            self.json("POST", &format!("/api/v1/cases/{no}/events"), serde_json::json!({ "event": event, "reason": reason })).await;
        assert_eq!(status, 200, "{event}: {v:#}");
        v
    }

    pub async fn upload(&self, no: &str, material: &str) {
        // A scan, as the window's scanner posts it (multipart/form-data).
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"material\"\r\n\r\n{material}\r\n--XyZ\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(b"%PDF-1.4\n%%EOF\n\r\n--XyZ--\r\n");
        let r = self
            .http
            .post(format!("{}/api/v1/cases/{no}/materials", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{material}: {}", r.text().await.unwrap());
    }
}
