//! The bench's plots, as small hand-written SVG files (no plotting crate:
//! three line charts do not need one): acquire latency distributions,
//! hand-off time against clients, grants per second against clients.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::report::{Report, PERCENTILES};

/// One line of a chart: a name and a value per x position (`None`: no
/// point there).
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// One value per x label.
    pub values: Vec<Option<f64>>,
}

/// A line chart over categorical x positions, with a log-scaled y axis.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// The x axis's caption.
    pub x_caption: String,
    /// The y axis's caption.
    pub y_caption: String,
    /// The x positions' labels.
    pub x_labels: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// A horizontal reference line (value, label), e.g. the RTT.
    pub reference: Option<(f64, String)>,
}

const COLORS: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart {
    /// The chart as an SVG document.
    pub fn render(&self) -> String {
        let (w, h) = (860.0, 480.0);
        let (left, right, top, bottom) = (70.0, 250.0, 40.0, 60.0);
        let (pw, ph) = (w - left - right, h - top - bottom);
        let values = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .copied()
            .chain(self.reference.iter().map(|r| r.0))
            .filter(|v| *v > 0.0 && v.is_finite());
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            (lo, hi) = (1.0, 10.0);
        }
        let (lo_exp, hi_exp) = (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        );
        let y = |v: f64| top + ph - (v.log10() - lo_exp) / (hi_exp - lo_exp) * ph;
        let n = self.x_labels.len().max(1);
        let x = |i: usize| {
            if n == 1 {
                left + pw / 2.0
            } else {
                left + pw * i as f64 / (n - 1) as f64
            }
        };
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = write!(
            s,
            r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
            left + pw / 2.0,
            esc(&self.title)
        );
        // Decades and their grid lines.
        let mut e = lo_exp;
        while e <= hi_exp + 1e-9 {
            let v = 10f64.powf(e);
            let yy = y(v);
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                left + pw,
                left - 6.0,
                yy + 4.0,
                fmt_value(v)
            );
            e += 1.0;
        }
        for (i, label) in self.x_labels.iter().enumerate() {
            let _ = write!(
                s,
                r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1}" stroke="#eee"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"##,
                x(i),
                top + ph,
                top + ph + 18.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + pw / 2.0,
            h - 15.0,
            esc(&self.x_caption)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + ph / 2.0,
            esc(&self.y_caption)
        );
        if let Some((v, label)) = &self.reference {
            let yy = y(*v);
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#000" stroke-dasharray="5 4"/><text x="{}" y="{:.1}" font-size="11">{}</text>"##,
                left + pw,
                left + 4.0,
                yy - 4.0,
                esc(label)
            );
        }
        for (k, series) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let dash = if k >= COLORS.len() {
                r#" stroke-dasharray="6 3""#
            } else {
                ""
            };
            let points: Vec<(f64, f64)> = series
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.filter(|v| *v > 0.0 && v.is_finite())
                        .map(|v| (x(i), y(v)))
                })
                .collect();
            if points.len() > 1 {
                let path: Vec<String> = points
                    .iter()
                    .map(|(a, b)| format!("{a:.1},{b:.1}"))
                    .collect();
                let _ = write!(
                    s,
                    r#"<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{}"/>"#,
                    path.join(" ")
                );
            }
            for (a, b) in &points {
                let _ = write!(
                    s,
                    r#"<circle cx="{a:.1}" cy="{b:.1}" r="3" fill="{color}"/>"#
                );
            }
            let ly = top + 14.0 + 18.0 * k as f64;
            let lx = left + pw + 16.0;
            let _ = write!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 22.0,
                lx + 28.0,
                ly + 4.0,
                esc(&series.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else if v >= 1.0 {
        format!("{v}")
    } else {
        format!("{v:.3}")
    }
}

/// The three charts of a report.
pub fn charts(report: &Report) -> Vec<(&'static str, Chart)> {
    let latency = Chart {
        title: "Uncontended acquire latency by percentile (one client, one master)".into(),
        x_caption: "percentile".into(),
        y_caption: "acquire latency, µs (log)".into(),
        x_labels: PERCENTILES
            .iter()
            .map(|q| format!("p{}", (q * 100.0 * 100.0).round() / 100.0))
            .collect(),
        series: report
            .uncontended
            .iter()
            .filter(|r| r.masters == 1)
            .filter_map(|r| {
                let l = r.latencies.as_ref()?;
                Some(Series {
                    name: r.variant.clone(),
                    values: l.acquire_percentiles_us.iter().map(|v| Some(*v)).collect(),
                })
            })
            .collect(),
        reference: Some((report.rtt_us, format!("RTT {:.0} µs", report.rtt_us))),
    };
    let mut clients: Vec<usize> = report.contended.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut lines: Vec<(String, usize)> = Vec::new();
    for r in &report.contended {
        let key = (r.variant.clone(), r.masters);
        if !lines.contains(&key) {
            lines.push(key);
        }
    }
    let by_clients = |f: &dyn Fn(&super::report::Row) -> f64| -> Vec<Series> {
        lines
            .iter()
            .map(|(variant, masters)| Series {
                name: if *masters == 1 {
                    variant.clone()
                } else {
                    format!("{variant} ×{masters}")
                },
                values: clients
                    .iter()
                    .map(|c| {
                        report
                            .contended
                            .iter()
                            .find(|r| {
                                &r.variant == variant && r.masters == *masters && r.clients == *c
                            })
                            .map(f)
                    })
                    .collect(),
            })
            .collect()
    };
    let x_labels: Vec<String> = clients.iter().map(|c| c.to_string()).collect();
    let handoff = Chart {
        title: "Hand-off time (release → next holder's grant), median".into(),
        x_caption: "clients on one key".into(),
        y_caption: "hand-off p50, µs (log)".into(),
        x_labels: x_labels.clone(),
        series: by_clients(&|r| r.handoff_p50_us),
        reference: Some((report.rtt_us, format!("RTT {:.0} µs", report.rtt_us))),
    };
    let grants = Chart {
        title: "Grants per second on one key".into(),
        x_caption: "clients on one key".into(),
        y_caption: "grants/s (log)".into(),
        x_labels,
        series: by_clients(&|r| r.grants_per_s),
        reference: None,
    };
    vec![
        ("latency.svg", latency),
        ("handoff.svg", handoff),
        ("grants.svg", grants),
    ]
}

/// Writes the charts into `dir` (created if missing); the files written.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, chart) in charts(report) {
        let path = dir.join(name);
        std::fs::write(&path, chart.render())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_a_line_per_series_and_escaped_text() {
        let c = Chart {
            title: "a <b> & c".into(),
            x_caption: "x".into(),
            y_caption: "y".into(),
            x_labels: vec!["1".into(), "8".into(), "64".into()],
            series: vec![
                Series {
                    name: "token/fifo".into(),
                    values: vec![Some(70.0), Some(65.0), Some(66.0)],
                },
                Series {
                    name: "rslock".into(),
                    values: vec![Some(900.0), None, Some(0.0)],
                },
            ],
            reference: Some((70.0, "RTT".into())),
        };
        let svg = c.render();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "one point alone draws no line"
        );
        assert_eq!(
            svg.matches("<circle").count(),
            4,
            "3 + 1; zero is not drawn on a log axis"
        );
        assert!(svg.contains("token/fifo") && svg.contains("stroke-dasharray=\"5 4\""));
    }

    #[test]
    fn an_empty_chart_still_renders() {
        let c = Chart {
            title: "t".into(),
            x_caption: "x".into(),
            y_caption: "y".into(),
            x_labels: vec![],
            series: vec![],
            reference: None,
        };
        assert!(c.render().contains("</svg>"));
    }
}
