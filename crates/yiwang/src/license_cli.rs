//! `yiwang license verify FILE|TOKEN` and `yiwang license import FILE`.

use std::process::ExitCode;

use clap::Subcommand;
use yiwang_crypto::seal::MasterKey;
use yiwang_license::{LicenseError, SealedLicense};
use yiwang_store::{NewLicense, Presented, Store, Verdict, VerdictError};

#[derive(Subcommand)]
pub enum LicenseCmd {
    /// Check a sealed license (a JSON file as downloaded) or a QR token
    /// (`YL1.…`, or the verification URL a scan of the QR code gives): the SM2 seal against the published key of its signer, and the
    /// license's current status in this node's registry. Exit 0 only for a
    /// license that verifies and is valid today.
    Verify { what: String },
    /// Issue licenses from an external issuer's export: one JSON object per
    /// line, each a license as `POST /api/v1/licenses` takes it. Each line is
    /// sealed and issued on its own; a bad line is reported with its number and
    /// the rest go on. Exit 0 only if every line was issued.
    Import {
        file: std::path::PathBuf,
        /// Who is importing (recorded in the audit log), e.g. `import:省市场监管局`.
        #[arg(long, default_value = "import:cli")]
        actor: String,
    },
}

pub async fn run(cmd: LicenseCmd, store: &Store, cfg: &crate::config::Config) -> anyhow::Result<ExitCode> {
    let what = match cmd {
        LicenseCmd::Verify { what } => what,
        LicenseCmd::Import { file, actor } => return import(store, &cfg.master_key()?, &file, &actor).await,
    };
    let path = std::path::Path::new(&what);
    let mut presented = None;
    let verdict = if path.is_file() {
        match serde_json::from_str::<SealedLicense>(&std::fs::read_to_string(path)?) {
            Ok(sealed) => {
                presented = Some(yiwang_web::exchange::PresentedLicense::Sealed(Box::new(sealed.clone())));
                store.verify_license(Presented::Sealed(sealed), yiwang_calendar::china_today(jiff::Timestamp::now())).await?
            }
            Err(e) => {
                let e = LicenseError::BadToken(format!("not a sealed license file: {e}"));
                let error = VerdictError {
                    code: yiwang_errors::Coded::code(&e).into(),
                    message_zh: format!("不是电子证照文件：{}", path.display()),
                    message_en: e.to_string(),
                };
                Verdict { error: Some(error), ..Verdict::default() }
            }
        }
    } else {
        // A scanned QR code gives the verification URL; the token is its `token` parameter.
        let token = yiwang_license::token_in(&what);
        presented = Some(yiwang_web::exchange::PresentedLicense::Token(token.clone()));
        store.verify_license(Presented::Token(token), yiwang_calendar::china_today(jiff::Timestamp::now())).await?
    };
    // Sealed on another node: its issuer's node verifies it, when this node takes part in the exchange.
    let verdict = match presented {
        Some(presented) if yiwang_web::exchange::sealed_elsewhere(&verdict) => issuers_verdict(store, cfg, verdict, &presented).await,
        _ => verdict,
    };
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn issuers_verdict(
    store: &Store,
    cfg: &crate::config::Config,
    local: Verdict,
    presented: &yiwang_web::exchange::PresentedLicense,
) -> Verdict {
    let Some(rt) = yiwang_web::exchange::ExchangeRuntime::from_settings(&cfg.exchange).ok().flatten() else { return local };
    let Ok(master) = cfg.master_key() else { return local };
    if let Err(e) = rt.load(store, &master, jiff::Timestamp::now()).await {
        eprintln!("数据交换不可用 / the exchange is unavailable: {e}");
        return local;
    }
    rt.or_issuers_verdict(store, local, presented).await
}

async fn import(store: &Store, master: &MasterKey, file: &std::path::Path, actor: &str) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (mut issued, mut failed) = (0usize, 0usize);
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line_no = n + 1;
        let outcome = match serde_json::from_str::<NewLicense>(line) {
            Ok(new) => store.issue_license(&new, master, actor, jiff::Timestamp::now()).await.map_err(|e| {
                let coded: &dyn yiwang_errors::Coded = &e;
                format!("{} {} / {}", coded.code(), coded.message_zh(), e)
            }),
            Err(e) => Err(format!("license.invalid 不是有效的证照记录 / not a license record: {e}")),
        };
        match outcome {
            Ok(l) => {
                issued += 1;
                println!("{line_no}\t已签发 issued\t{}\tv{}", l.id, l.version);
            }
            Err(why) => {
                failed += 1;
                eprintln!("{line_no}\t未签发 failed\t{why}");
            }
        }
    }
    println!("签发 {issued} 件，失败 {failed} 件 / issued {issued}, failed {failed}");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
