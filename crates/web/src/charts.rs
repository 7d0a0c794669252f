//! Server-rendered SVG charts for the staff pages: a bar chart drawn from
//! labelled values, with its title and a summary for screen readers (the page
//! prints the same figures as a table beside it). No script, no library.

/// One chart: a title, the unit of its values, and (label, value) bars; a
/// value of `None` is a gap (no base for a rate).
pub struct BarChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub bars: Vec<(String, Option<f64>)>,
    /// The scale's top (100 for a rate; none: the largest value).
    pub max: Option<f64>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl BarChart<'_> {
    /// The chart as inline SVG.
    pub fn svg(&self) -> String {
        const W: f64 = 640.0;
        const H: f64 = 220.0;
        const TOP: f64 = 20.0;
        const BOTTOM: f64 = 40.0;
        const LEFT: f64 = 8.0;
        let top_value = self.max.unwrap_or_else(|| self.bars.iter().filter_map(|b| b.1).fold(0.0, f64::max)).max(1.0);
        let n = self.bars.len().max(1) as f64;
        let slot = (W - LEFT * 2.0) / n;
        let plot = H - TOP - BOTTOM;
        let mut out = self.open(W, H);
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#767676\"/>",
            base = H - BOTTOM,
            right = W - LEFT,
        ));
        for (i, (label, value)) in self.bars.iter().enumerate() {
            let x = LEFT + slot * i as f64;
            if let Some(v) = value {
                let h = (v / top_value).clamp(0.0, 1.0) * plot;
                out.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#b8121b\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
                    x + slot * 0.15,
                    H - BOTTOM - h,
                    slot * 0.7,
                    h,
                    x + slot / 2.0,
                    H - BOTTOM - h - 4.0,
                    escape(&trim(*v)),
                ));
            }
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
                x + slot / 2.0,
                H - BOTTOM + 16.0,
                escape(label),
            ));
        }
        out.push_str("</svg>");
        out
    }
}

impl BarChart<'_> {
    /// The chart with one bar per row, its label on the left: for long labels
    /// (agencies, items). Its height grows with the rows.
    pub fn svg_rows(&self) -> String {
        const W: f64 = 640.0;
        const ROW: f64 = 22.0;
        const TOP: f64 = 8.0;
        const LABEL: f64 = 220.0;
        const VALUE: f64 = 56.0;
        let h = TOP * 2.0 + ROW * self.bars.len().max(1) as f64;
        let top_value = self.max.unwrap_or_else(|| self.bars.iter().filter_map(|b| b.1).fold(0.0, f64::max)).max(1.0);
        let plot = W - LABEL - VALUE;
        let mut out = self.open(W, h);
        out.push_str(&format!("<line x1=\"{LABEL}\" y1=\"{TOP}\" x2=\"{LABEL}\" y2=\"{:.1}\" stroke=\"#767676\"/>", h - TOP));
        for (i, (label, value)) in self.bars.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            // Labels past 18 characters are cut; the table beside has them whole.
            let shown: String =
                if label.chars().count() > 18 { label.chars().take(17).chain(std::iter::once('…')).collect() } else { label.clone() };
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#1a1a1a\">{}</text>",
                LABEL - 6.0,
                y + ROW * 0.65,
                escape(&shown),
            ));
            let (width, text) = match value {
                Some(v) => ((v / top_value).clamp(0.0, 1.0) * plot, trim(*v)),
                None => (0.0, "—".to_string()),
            };
            if width > 0.0 {
                out.push_str(&format!(
                    "<rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"#b8121b\"/>",
                    y + ROW * 0.15,
                    ROW * 0.7,
                ));
            }
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1a1a1a\">{}</text>",
                LABEL + width + 4.0,
                y + ROW * 0.65,
                escape(&text),
            ));
        }
        out.push_str("</svg>");
        out
    }

    /// The opening tag with the title and the figures for screen readers.
    fn open(&self, w: f64, h: f64) -> String {
        let summary: Vec<String> = self
            .bars
            .iter()
            .map(|(l, v)| format!("{l}：{}", v.map_or_else(|| "无".to_string(), |v| format!("{}{}", trim(v), self.unit))))
            .collect();
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
             style=\"width:100%;max-width:40rem;height:auto\"><title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{desc}</desc>",
            id = escape(self.id),
            title = escape(self.title),
            desc = escape(&summary.join("；")),
        )
    }
}

/// A figure as printed: whole numbers without decimals, rates to one.
fn trim(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_title_its_figures_for_screen_readers_and_a_bar_per_value() {
        let c = BarChart {
            id: "apps",
            title: "每月申请件数",
            unit: "件",
            bars: vec![("1月".into(), Some(3.0)), ("2月".into(), None), ("x<y".into(), Some(1.5))],
            max: None,
        };
        let svg = c.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"apps-t\">每月申请件数</title>"));
        assert!(svg.contains("1月：3件；2月：无；x&lt;y：1.5件"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "no bar for a gap");
        assert!(!svg.contains("x<y"), "labels are escaped");
        let rows = BarChart {
            bars: vec![("杭州市市场监督管理局食品经营许可审批处（窗口）".into(), Some(50.0)), ("b".into(), None)],
            max: Some(100.0),
            ..c
        }
        .svg_rows();
        assert!(rows.contains(">50<"), "{rows}");
        assert!(rows.contains("杭州市市场监督管理局食品经营许可审…") && rows.contains(">—<"), "{rows}");
        assert!(rows.contains("<title id=\"apps-t\">每月申请件数</title>") && rows.matches("<rect").count() == 1);
    }
}
