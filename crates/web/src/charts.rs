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
        let summary: Vec<String> = self
            .bars
            .iter()
            .map(|(l, v)| format!("{l}：{}", v.map_or_else(|| "无".to_string(), |v| format!("{}{}", trim(v), self.unit))))
            .collect();
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
             style=\"width:100%;max-width:40rem;height:auto\"><title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{desc}</desc>\
             <line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#767676\"/>",
            id = escape(self.id),
            title = escape(self.title),
            desc = escape(&summary.join("；")),
            base = H - BOTTOM,
            right = W - LEFT,
        );
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
    }
}
