//! Search finds the right demo items for the queries people type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_catalog::demo_items::ITEMS;
use yiwang_catalog::samples::{Place, build};
use yiwang_catalog::{AgencyRef, ItemDoc};
use yiwang_search::{Audience, CatalogIndex, Indexable, SearchQuery};

fn docs() -> Vec<(ItemDoc, String)> {
    ITEMS
        .iter()
        .enumerate()
        .map(|(i, (key, spec))| {
            // One fake agency per key, in Hangzhou or (for zj_*) the province.
            let division = if key.starts_with("zj_") {
                "330000"
            } else if key.starts_with("nb_") {
                "330200"
            } else {
                "330100"
            };
            let org = format!("{:08}", 1000 + i);
            let org_check = yiwang_codes::org_code_check_char(&org).unwrap();
            let body = format!("11{division}{org}{org_check}");
            let uscc = format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap());
            let agency = AgencyRef { uscc, name: format!("{key}局"), division_code: division.into() };
            let place = Place { agency, level: yiwang_codes::UseLevel::Municipal, hall: "市民中心".into(), phone: "0571-12345".into() };
            (build(spec, &place, &|k| k.to_string()).unwrap(), division.to_string())
        })
        .collect()
}

fn index(docs: &[(ItemDoc, String)]) -> CatalogIndex {
    CatalogIndex::build(docs.iter().map(|(d, div)| Indexable { doc: d, version: 1, suspended: false, division: div }), 1).unwrap()
}

fn names(idx: &CatalogIndex, q: SearchQuery) -> Vec<String> {
    idx.search(&SearchQuery { limit: 50, ..q }).unwrap().hits.into_iter().map(|h| h.item.name).collect()
}

fn query(q: &str) -> SearchQuery {
    SearchQuery { q: q.into(), ..Default::default() }
}

#[test]
fn common_queries_find_the_right_items_first() {
    let d = docs();
    let idx = index(&d);
    let cases: [(&str, &[&str]); 6] = [
        ("营业执照", &["企业设立登记（营业执照办理）", "个体工商户设立登记", "企业变更登记"]),
        ("身份证", &["居民身份证换领", "居民身份证挂失补领", "临时居民身份证办理"]),
        ("出生", &["出生登记", "出生医学证明首次签发"]),
        ("社保卡", &["社会保障卡申领", "社会保障卡挂失补换"]),
        ("餐饮", &["食品经营许可", "小餐饮登记"]),
        ("施工许可", &["建筑工程施工许可证核发"]),
    ];
    for (q, expected) in cases {
        let got = names(&idx, query(q));
        let top: Vec<&str> = got.iter().take(expected.len() + 2).map(String::as_str).collect();
        for e in expected {
            assert!(top.contains(e), "query {q}: expected {e} near the top, got {got:?}");
        }
        assert!(!got.contains(&"政务服务“好差评”申诉".to_string()), "query {q} matched an unrelated item: {got:?}");
    }
}

#[test]
fn filters_narrow_results() {
    let d = docs();
    let idx = index(&d);
    // 食品经营许可 exists in Hangzhou and Ningbo; the region filter keeps one.
    let all = names(&idx, query("食品经营许可"));
    assert_eq!(all.iter().filter(|n| *n == "食品经营许可").count(), 2);
    let nb = names(&idx, SearchQuery { region: Some("330200".into()), ..query("食品经营许可") });
    assert_eq!(nb, ["食品经营许可"]);
    // The province region contains its cities.
    assert_eq!(names(&idx, SearchQuery { region: Some("330000".into()), ..query("") }).len(), d.len());
    // Audience: 社团登记 is for organisations only.
    assert!(names(&idx, SearchQuery { audience: Some(Audience::Natural), ..query("营业执照") }).iter().all(|n| n != "企业变更登记"));
    let legal = names(&idx, SearchQuery { audience: Some(Audience::Legal), ..query("") });
    assert!(legal.contains(&"企业变更登记".to_string()) && !legal.contains(&"出生登记".to_string()));
    // 全程网办 excludes items that need a visit.
    let online = names(&idx, SearchQuery { fully_online: true, ..query("身份证") });
    assert!(!online.contains(&"居民身份证换领".to_string()), "{online:?}");
    // Themes.
    let theme = names(&idx, SearchQuery { theme: Some("开办企业".into()), ..query("") });
    assert!(theme.contains(&"公章刻制备案".to_string()) && theme.contains(&"新办纳税人涉税事项".to_string()));
}

#[test]
fn badges_and_fallback() {
    let d = docs();
    let idx = index(&d);
    let r = idx.search(&SearchQuery { limit: 5, ..query("出生登记") }).unwrap();
    let first = &r.hits[0].item;
    assert_eq!(first.name, "出生登记");
    assert!(first.badges.contains(&"全程网办".to_string()) && first.badges.contains(&"零跑动".to_string()), "{:?}", first.badges);
    // Nonsense finds nothing; a query of punctuation is browsing.
    assert_eq!(idx.search(&query("量子引力")).unwrap().total, 0);
    assert_eq!(idx.search(&SearchQuery { limit: 100, ..query("？！") }).unwrap().total, d.len());
}

/// Issue 19, finding 1: a page far past the end allocated the whole offset up front
/// in tantivy's collector and aborted the process. The window is bounded now.
#[test]
fn a_huge_offset_costs_nothing_and_finds_nothing() {
    let idx = index(&docs());
    for q in ["营业执照", ""] {
        for offset in [usize::MAX, 1_000_000_000_000_000, yiwang_search::MAX_WINDOW] {
            let r = idx.search(&SearchQuery { q: q.into(), limit: 100, offset, ..Default::default() }).unwrap();
            assert!(r.hits.is_empty(), "{q:?} at offset {offset}: {} hits", r.hits.len());
        }
        let r = idx.search(&SearchQuery { q: q.into(), limit: usize::MAX, offset: 0, ..Default::default() }).unwrap();
        assert!(r.hits.len() <= yiwang_search::MAX_LIMIT);
    }
}
