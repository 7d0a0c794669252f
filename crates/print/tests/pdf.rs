//! The PDF carries the text in Chinese, extractable (so screen readers and
//! search work), with our font embedded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_print::{Printer, Template};

#[test]
fn guide_pdf_embeds_the_font_and_the_chinese_text() {
    let guide = serde_json::json!({
        "title": "食品经营许可", "implementation_code": "11330100MB0000000X3000104002000", "agency": "杭州市市场监督管理局",
        "version": 2, "published_at": "2026-11-23", "badges": ["全程网办", "零跑动"],
        "blocks": [
            { "id": "basic", "title": "基本信息", "body": { "kind": "fields", "rows": [["事项名称", "食品经营许可"], ["承诺办结时限", "5个工作日"]] } },
            { "id": "conditions", "title": "受理条件", "body": { "kind": "text", "paragraphs": ["具有与经营的食品品种相适应的经营场所"] } },
            { "id": "materials", "title": "申请材料", "body": { "kind": "table", "header": ["序号", "材料名称"], "rows": [["1", "营业执照"]] } },
            { "id": "faq", "title": "常见问题", "body": { "kind": "table", "header": ["问题", "解答"], "rows": [] } }
        ]
    });
    let pdf = Printer::new().pdf(Template::Guide, &guide).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guide.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let fonts = std::process::Command::new("pdffonts").arg(&path).output().expect("pdffonts (poppler-utils) is installed by .ci/run");
    let fonts = String::from_utf8_lossy(&fonts.stdout);
    assert!(fonts.contains("NotoSansCJKsc") || fonts.contains("NotoSansCJK"), "{fonts}");
    let text = std::process::Command::new("pdftotext").arg(&path).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in ["食品经营许可", "办事指南", "基本信息", "受理条件", "营业执照", "全程网办", "个工作日"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn a_table_report_prints_its_tables_and_notes_in_chinese() {
    let doc = yiwang_print::TableReportDoc {
        title: "一体化政务服务能力评估指标报告".into(),
        subtitle: "统计期间 2026-01-01 至 2026-12-07".into(),
        sections: vec![
            yiwang_print::ReportTable {
                title: "按部门".into(),
                header: vec!["部门".into(), "服务方式完备度".into(), "总分".into()],
                rows: vec![vec!["杭州市市场监督管理局".into(), "83.3".into(), "76.5*".into()]],
            },
            yiwang_print::ReportTable { title: "按地区".into(), header: vec!["地区".into()], rows: vec![] },
        ],
        notes: vec!["等级：非常高 ≥ 90".into()],
    };
    let pdf = Printer::new().pdf(Template::TableReport, &doc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in ["评估指标报告", "按部门", "杭州市市场监督管理局", "服务方式完备度", "83.3", "76.5*", "（无）", "非常高"]
    {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
