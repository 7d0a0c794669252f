//! `yiwang supervision replay`: a rule set over a period of stored history,
//! without side effects (issue 22): what it would have flagged, and beside
//! it what another version of the rule set would have.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use yiwang_store::Store;
use yiwang_supervision::{Alert, RuleSet};

#[derive(Subcommand)]
pub enum SupervisionCmd {
    /// Run a rule set over the cases active in a period and report what it
    /// would have flagged, per rule; with `--compare`, a second rule set
    /// beside it. Nothing is stored. `--json` prints every alert instead.
    Replay {
        /// The first day (China time), YYYY-MM-DD.
        #[arg(long)]
        since: jiff::civil::Date,
        /// The last day, inclusive.
        #[arg(long)]
        until: jiff::civil::Date,
        /// A rule set (JSON: version, settings, agencies); default: the built-in one.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// A second rule set to compare with.
        #[arg(long)]
        compare: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn rule_set(path: Option<&PathBuf>) -> anyhow::Result<RuleSet> {
    let Some(path) = path else { return Ok(RuleSet::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("打开 / opening {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} 不是监察规则集 / is not a rule set", path.display()))
}

/// The China-time start of a day, as stored times compare.
fn day_start(d: jiff::civil::Date) -> anyhow::Result<jiff::Timestamp> {
    yiwang_calendar::china_day_start(d).ok_or_else(|| anyhow::anyhow!("{d} 超出可表示的时间 / is out of range"))
}

pub async fn run(cmd: SupervisionCmd, store: &Store) -> anyhow::Result<ExitCode> {
    let SupervisionCmd::Replay { since, until, rules, compare, json } = cmd;
    anyhow::ensure!(since <= until, "--since 晚于 --until / --since is after --until");
    let sets: Vec<RuleSet> =
        std::iter::once(rule_set(rules.as_ref())?).chain(compare.as_ref().map(|p| rule_set(Some(p))).transpose()?).collect();
    let (from, to) = (day_start(since)?, day_start(until.tomorrow()?)?);
    let end = to.min(jiff::Timestamp::now());
    let calendar = store.load_calendar().await?;
    let mut items = yiwang_web::supervision::FactsCache::default();
    let mut found: Vec<Vec<Alert>> = vec![Vec::new(); sets.len()];
    let mut after = String::new();
    let mut cases = 0usize;
    loop {
        let page = store.cases_active_between(&yiwang_store::ts(from), &yiwang_store::ts(to), &after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.0.case_no.clone();
        for (c, events) in &page {
            cases += 1;
            for (set, out) in sets.iter().zip(found.iter_mut()) {
                let (alerts, _) = yiwang_web::supervision::case_alerts(store, set, &mut items, c, events, 0, &calendar, end).await?;
                out.extend(alerts.into_iter().filter(|a| a.at >= from && a.at < to));
            }
        }
    }
    if json {
        for (i, alerts) in found.iter().enumerate() {
            for a in alerts {
                println!("{}", serde_json::json!({ "rule_set": sets[i].version, "alert": a }));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut by_rule: BTreeMap<(String, &'static str, &'static str), Vec<usize>> = BTreeMap::new();
    for (i, alerts) in found.iter().enumerate() {
        for a in alerts {
            by_rule.entry((a.rule.clone(), a.class.name_zh(), a.level.name_zh())).or_insert_with(|| vec![0; sets.len()])[i] += 1;
        }
    }
    let versions: Vec<String> = sets.iter().map(|s| format!("规则集 v{}", s.version)).collect();
    println!("{since} 至 {until}：{cases} 件办件 / cases；{}", versions.join(" | "));
    for ((rule, class, level), counts) in &by_rule {
        let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
        println!("  {rule}（{class}，{level}）：{}", counts.join(" | "));
    }
    let totals: Vec<String> = found.iter().map(|a| a.len().to_string()).collect();
    println!("  合计 / total：{}", totals.join(" | "));
    Ok(ExitCode::SUCCESS)
}
