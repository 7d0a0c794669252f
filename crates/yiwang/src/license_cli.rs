//! `yiwang license verify FILE|TOKEN`.

use std::process::ExitCode;

use clap::Subcommand;
use yiwang_license::{LicenseError, SealedLicense};
use yiwang_store::{Presented, Store, Verdict, VerdictError};

#[derive(Subcommand)]
pub enum LicenseCmd {
    /// Check a sealed license (a JSON file as downloaded) or a QR token
    /// (`YL1.…`): the SM2 seal against the published key of its signer, and the
    /// license's current status in this node's registry. Exit 0 only for a
    /// license that verifies and is valid today.
    Verify { what: String },
}

pub async fn run(cmd: LicenseCmd, store: &Store) -> anyhow::Result<ExitCode> {
    let LicenseCmd::Verify { what } = cmd;
    let path = std::path::Path::new(&what);
    let verdict = if path.is_file() {
        match serde_json::from_str::<SealedLicense>(&std::fs::read_to_string(path)?) {
            Ok(sealed) => store.verify_license(Presented::Sealed(sealed), yiwang_calendar::china_today(jiff::Timestamp::now())).await?,
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
        store.verify_license(Presented::Token(what), yiwang_calendar::china_today(jiff::Timestamp::now())).await?
    };
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
