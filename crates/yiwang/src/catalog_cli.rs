//! `yiwang catalog import | export | analyze`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;
use yiwang_catalog::FieldError;
use yiwang_catalog::exchange::{parse_file, to_cpsv_ap, to_yiwang_json};
use yiwang_store::{Agency, ImportOutcome, Store};

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Load items from a JSON file, ours or with national-exchange field names
    /// (docs/catalog-format.md). Invalid rows are reported by row and field; the
    /// valid rows are kept. Exit 1 if any row was rejected.
    Import {
        file: PathBuf,
        /// Load as drafts for review instead of publishing at once.
        #[arg(long)]
        draft: bool,
    },
    /// Print every published item as our JSON or as CPSV-AP 3.x JSON-LD.
    Export {
        #[arg(long, default_value = "yiwang", value_parser = ["yiwang", "cpsv-ap"])]
        format: String,
        /// The node's public URL, for the JSON-LD identifiers.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// The once-only analysis (三个凡是): materials still asked from applicants
    /// although a license type or shared resource covers them, 免提交率 and visits.
    Analyze {
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The basic catalog (基本目录) this node defines and sends down.
    #[command(subcommand)]
    Basic(BasicCmd),
}

#[derive(Subcommand)]
pub enum BasicCmd {
    /// Define or change basic catalog entries from a JSON array of
    /// `{basic_code, name, task_type, by_law, use_levels}` (the national or
    /// provincial operator); all or none. Nodes below take them on their next pull.
    Import { file: PathBuf },
    /// The entries, one JSON object per line: those this node sends down, or
    /// (`--upstream`) those its parent sent.
    List {
        #[arg(long)]
        upstream: bool,
    },
}

#[derive(Serialize)]
struct RowReport {
    row: usize,
    implementation_code: Option<String>,
    errors: Vec<FieldError>,
}

#[derive(Serialize, Default)]
struct Report {
    created: usize,
    updated: usize,
    unchanged: usize,
    rejected: usize,
    rejected_rows: Vec<RowReport>,
}

fn level_name(level: yiwang_codes::UseLevel) -> &'static str {
    use yiwang_codes::UseLevel::*;
    match level {
        National => "national",
        Provincial => "provincial",
        County => "county",
        Township | Village => "township",
        Municipal | Graded => "municipal",
    }
}

pub async fn run(cmd: CatalogCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCmd::Import { file, draft } => import(store, &file, !draft).await,
        CatalogCmd::Export { format, base_url } => {
            let items: Vec<_> = store.published_items().await?.into_iter().map(|p| p.doc).collect();
            let out = if format == "cpsv-ap" { to_cpsv_ap(&items, base_url.trim_end_matches('/')) } else { to_yiwang_json(&items) };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::Analyze { json } => {
            let r = yiwang_web::catalog::analysis(store).await.map_err(|e| anyhow::anyhow!("{}", e.message_zh()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let t = &r.totals;
                println!(
                    "事项 {} 个，材料 {} 份，免提交 {} 份（免提交率 {:.1}%），零跑动 {} 个，全程网办 {} 个，问题 {} 处",
                    t.items,
                    t.materials,
                    t.exempt,
                    t.exempt_rate * 100.0,
                    t.zero_visit_items,
                    t.fully_online_items,
                    t.findings
                );
                for a in &r.agencies {
                    println!(
                        "  {}：事项 {}，免提交率 {:.1}%，平均到现场 {:.2} 次，问题 {}",
                        a.agency_name,
                        a.items,
                        a.exempt_rate * 100.0,
                        a.average_visits,
                        a.findings
                    );
                }
                for i in &r.items {
                    for f in &i.findings {
                        println!("  ! {} [{}]：{}", i.name, i.implementation_code, f.message_zh);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::Basic(BasicCmd::Import { file }) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("打开 / opening {}", file.display()))?;
            let entries: Vec<yiwang_catalog::BasicItem> = match serde_json::from_str(&text) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("不是基本目录条目数组 / not an array of basic catalog entries: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let bad: Vec<&str> = entries
                .iter()
                .filter(|e| yiwang_codes::BasicCode::parse(&e.basic_code).is_err() || e.name.trim().is_empty())
                .map(|e| e.basic_code.as_str())
                .collect();
            if !bad.is_empty() || entries.len() > yiwang_store::MAX_BASIC_ENTRIES {
                eprintln!("基本编码无效或事项名称为空，未导入任何条目 / invalid basic codes or empty names, nothing imported: {bad:?}");
                return Ok(ExitCode::from(1));
            }
            let changed = store.define_basic_entries(&entries, "cli", Timestamp::now()).await?;
            println!("基本目录 {} 项，新增或变更 {changed} 项 / {} entries, {changed} new or changed", entries.len(), entries.len());
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::Basic(BasicCmd::List { upstream }) => {
            let entries =
                if upstream { store.upstream_basic().await?.into_values().collect() } else { store.basic_catalog_to_send().await? };
            for e in entries {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(store: &Store, file: &PathBuf, publish: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("打开 / opening {}", file.display()))?;
    let rows = match parse_file(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{} / {e}", yiwang_errors::Coded::message_zh(&e));
            return Ok(ExitCode::from(1));
        }
    };
    let bar = crate::identity_cli::progress(rows.len() as u64);
    let now = Timestamp::now();
    let actor = format!("import:{}", file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
    let mut report = Report::default();
    for row in rows {
        bar.inc(1);
        let doc = match row.outcome {
            Ok(doc) => doc,
            Err(errors) => {
                report.rejected += 1;
                report.rejected_rows.push(RowReport { row: row.row, implementation_code: row.code, errors });
                continue;
            }
        };
        // Reads before the transaction (the SQLite writer rule).
        let existing = store.agency(&doc.agency.uscc).await?;
        let mut tx = store.begin().await?;
        if existing.is_none() {
            let division =
                if doc.agency.division_code.len() == 6 { doc.agency.division_code.clone() } else { doc.agency.uscc[2..8].to_string() };
            let agency = Agency {
                uscc: doc.agency.uscc.clone(),
                name: doc.agency.name.clone(),
                division_code: division,
                level: level_name(doc.use_level).into(),
            };
            tx.upsert_agency(&agency, &actor, now).await?;
        }
        match tx.import_item(&doc, publish, &actor, now).await {
            Ok(outcome) => {
                tx.commit().await?;
                match outcome {
                    ImportOutcome::Created => report.created += 1,
                    ImportOutcome::Updated => report.updated += 1,
                    ImportOutcome::Unchanged => report.unchanged += 1,
                }
            }
            Err(yiwang_store::StoreError::Conflict(msg)) => {
                tx.rollback().await?;
                report.rejected += 1;
                report.rejected_rows.push(RowReport {
                    row: row.row,
                    implementation_code: Some(doc.implementation_code.clone()),
                    errors: vec![FieldError::new("task_code", "conflict", "事项已取消，不能再导入新版本", msg)],
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    bar.finish_and_clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "新增 {}，更新 {}，未变 {}，拒绝 {} / created {}, updated {}, unchanged {}, rejected {}",
        report.created,
        report.updated,
        report.unchanged,
        report.rejected,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected
    );
    Ok(if report.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
