//! The latency picture of a bench run (`--plot latency.svg`): on the left p50 and p99 per
//! second over the run, on the right the percentile curve (latency against the number of
//! nines, HdrHistogram's usual plot), one line per phase. Plain SVG written by hand: two
//! charts do not need a plotting library.

use std::fmt::Write as _;

use super::report::{Report, us};

const W: f64 = 960.0;
const H: f64 = 400.0;
const PAD: f64 = 56.0;
const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

struct Frame {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
}

impl Frame {
    fn px(&self, fx: f64) -> f64 {
        self.x0 + fx.clamp(0.0, 1.0) * self.w
    }

    fn py(&self, fy: f64) -> f64 {
        self.y0 + self.h - fy.clamp(0.0, 1.0) * self.h
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A log-scale latency axis from the power of ten at or below `min` to the one above `max`:
/// (log10 of the bottom, log10 of the top, the ticks).
fn log_axis(min_us: u64, max_us: u64) -> (f64, f64, Vec<u64>) {
    let mut bottom = 1u64;
    while bottom * 10 <= min_us.max(1) {
        bottom *= 10;
    }
    let mut top = bottom * 10;
    while top < max_us.max(1) {
        top *= 10;
    }
    let ticks = std::iter::successors(Some(bottom), |t| (*t < top).then_some(t * 10)).collect();
    ((bottom as f64).log10(), (top as f64).log10(), ticks)
}

/// Where a latency sits on the axis, 0 to 1.
fn y_of(v: u64, axis: (f64, f64)) -> f64 {
    ((v.max(1) as f64).log10() - axis.0) / (axis.1 - axis.0).max(1e-9)
}

fn frame(svg: &mut String, f: &Frame, title: &str, y_ticks: &[u64], axis: (f64, f64), x_labels: &[(f64, String)]) {
    let _ = write!(
        svg,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/><text x="{}" y="{}" font-size="14" text-anchor="middle">{}</text>"##,
        f.x0,
        f.y0,
        f.w,
        f.h,
        f.x0 + f.w / 2.0,
        f.y0 - 10.0,
        esc(title)
    );
    for t in y_ticks {
        let y = f.py(y_of(*t, axis));
        let _ = write!(
            svg,
            r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
            f.x0,
            f.x0 + f.w,
            f.x0 - 4.0,
            y + 4.0,
            esc(&us(*t))
        );
    }
    for (fx, label) in x_labels {
        let x = f.px(*fx);
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
            f.y0 + f.h + 16.0,
            esc(label)
        );
    }
}

fn polyline(svg: &mut String, points: &[(f64, f64)], color: &str, dash: bool) {
    if points.is_empty() {
        return;
    }
    let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = write!(
        svg,
        r#"<polyline fill="none" stroke="{color}" stroke-width="1.8"{} points="{}"/>"#,
        if dash { r#" stroke-dasharray="5,3""# } else { "" },
        pts.join(" ")
    );
}

/// The SVG text of `report`'s latency picture.
pub fn plot(report: &Report) -> String {
    let max_us = report.phases.iter().map(|p| p.latency.max_us).max().unwrap_or(1);
    let min_us = report
        .phases
        .iter()
        .flat_map(|p| {
            let curve = p.percentiles.iter().map(|(_, v)| *v);
            curve.chain(p.timeline.iter().filter(|s| s.count > 0).map(|s| s.p50_us))
        })
        .min()
        .unwrap_or(1);
    let (bottom, top, y_ticks) = log_axis(min_us, max_us);
    let axis = (bottom, top);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>"#
    );
    let half = W / 2.0;
    let left = Frame { x0: PAD + 10.0, y0: PAD, w: half - PAD - 30.0, h: H - 2.0 * PAD - 20.0 };
    let right = Frame { x0: half + PAD, y0: PAD, w: half - PAD - 40.0, h: H - 2.0 * PAD - 20.0 };

    // Left: p50 (dashed) and p99 per second.
    let secs = report.phases.iter().map(|p| p.timeline.len()).max().unwrap_or(1).max(1) as f64;
    let x_labels: Vec<(f64, String)> =
        (0..=4).map(|i| (i as f64 / 4.0, format!("{:.0} s", secs * i as f64 / 4.0))).collect();
    frame(&mut svg, &left, "latency per second (p99 solid, p50 dashed)", &y_ticks, axis, &x_labels);
    for (i, p) in report.phases.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let at = |s: &super::Second, v: u64| (left.px((s.second as f64 + 0.5) / secs), left.py(y_of(v, axis)));
        let p99: Vec<(f64, f64)> = p.timeline.iter().filter(|s| s.count > 0).map(|s| at(s, s.p99_us)).collect();
        let p50: Vec<(f64, f64)> = p.timeline.iter().filter(|s| s.count > 0).map(|s| at(s, s.p50_us)).collect();
        polyline(&mut svg, &p99, color, false);
        polyline(&mut svg, &p50, color, true);
    }

    // Right: the percentile curve; x is the number of nines, 1/(1-q) on a log scale to 99.999%.
    let nines_top = 5.0;
    let x_labels: Vec<(f64, String)> =
        [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%")]
            .iter()
            .map(|(n, l)| (n / nines_top, (*l).to_owned()))
            .collect();
    frame(&mut svg, &right, "latency by percentile", &y_ticks, axis, &x_labels);
    for (i, p) in report.phases.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = p
            .percentiles
            .iter()
            .filter(|(q, _)| *q < 1.0)
            .map(|(q, v)| {
                let nines = (1.0 / (1.0 - q)).log10();
                (right.px(nines / nines_top), right.py(y_of(*v, axis)))
            })
            .collect();
        polyline(&mut svg, &pts, color, false);
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            right.x0 + 8.0,
            right.y0 + 8.0 + 18.0 * i as f64,
            right.x0 + 26.0,
            right.y0 + 18.0 + 18.0 * i as f64,
            esc(&format!("{}: p99 {}, {:.0} ops/s", p.name, us(p.latency.p99_us), p.operations_per_s))
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">consentctl bench {} · {}</text></svg>"#,
        W / 2.0,
        H - 8.0,
        esc(&report.scenario),
        esc(&report.profile)
    );
    svg
}
