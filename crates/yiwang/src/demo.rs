//! `yiwang demo`: a provincial node (浙江省 and four cities) with its data.
//! Later features add their demo data here, always through the same store calls
//! a real operator would use.

use yiwang_codes::DivisionCode;
use yiwang_store::{NodeInfo, NodeRegion, Store};

pub const DEMO_PROVINCE: &str = "330000";
pub const DEMO_CITIES: [&str; 4] = ["330100", "330200", "330300", "330500"];

fn region(code6: &str) -> anyhow::Result<NodeRegion> {
    let (d, _) = DivisionCode::parse(code6)?;
    let name = d.name().ok_or_else(|| anyhow::anyhow!("division {code6} missing from the bundled table"))?;
    Ok(NodeRegion {
        code: d.as_str().to_string(),
        name: name.to_string(),
        level: format!("{:?}", d.level()).to_lowercase(),
        parent_code: d.parent().map(|p| p.as_str().to_string()),
    })
}

/// Create the demo node if the database has none. Returns false if one existed.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    if store.node_info().await?.is_some() {
        return Ok(false);
    }
    let province = region(DEMO_PROVINCE)?;
    let mut regions = vec![province.clone()];
    for c in DEMO_CITIES {
        regions.push(region(c)?);
    }
    let info = NodeInfo {
        division_code: province.code.clone(),
        name: format!("{}（演示）", province.name),
        tier: "provincial".into(),
        created_at: String::new(),
    };
    let mut tx = store.begin().await?;
    tx.create_node(&info, &regions, "demo", jiff::Timestamp::now()).await?;
    tx.commit().await?;
    Ok(true)
}
