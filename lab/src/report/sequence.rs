//! Draws a [`Diagram`] as SVG: lanes as columns, time running down, one row
//! per step with the story beside it. A command is an arrow labelled with
//! what it sent, its reply a dashed arrow back (slanted across rows when the
//! reply was held in flight); the lease is a bar on the server's lane that
//! narrows as its ticks run out; a client that believes it holds the lock
//! has a bar of its colour — hatched red once the key is no longer its own;
//! pauses, crashes and restarts are shaded; the breaking rows are red.
//!
//! The same SVG is inlined in the report (where its script adds the step
//! slider and hover) and written standalone for the docs, so the book and
//! the report never drift.

use std::fmt::Write as _;

use super::diagram::{Bar, BarEnd, BarKind, Call, Diagram, LaneKind, Mark, Row, SpanKind, Tone};
use super::layout::{Key, Layout, Options, ANCHOR, HEAD_BOX, MONO_W, REPLY};
use super::text::{esc, fit, micros};

/// The client colours, in lane order.
const CLIENT_COLORS: [&str; 8] = [
    "#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#9333ea",
];

/// The red of a break.
const RED: &str = "#dc2626";

/// The stylesheet of the drawings: inlined once in the report's page, and
/// into each standalone SVG.
pub const CSS: &str = include_str!("assets/sequence.css");

/// The colour of a lane.
pub fn lane_color(d: &Diagram, lane: usize) -> &'static str {
    let Some(l) = d.lanes.get(lane) else {
        return "#475569";
    };
    match l.kind {
        LaneKind::Client => {
            // `cN` keeps its colour in every diagram, whoever else is there.
            let k =
                l.id.strip_prefix('c')
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| n.checked_sub(1))
                    .unwrap_or_else(|| {
                        d.lanes[..lane]
                            .iter()
                            .filter(|l| l.kind == LaneKind::Client)
                            .count()
                    });
            CLIENT_COLORS[k % CLIENT_COLORS.len()]
        }
        LaneKind::Server => "#9f1239",
        LaneKind::Replica => "#c2410c",
        LaneKind::Sentinel => "#4d7c0f",
        LaneKind::Resource => "#475569",
    }
}

/// A standalone SVG document (for the docs): namespace, stylesheet, a white
/// background and a native tooltip per row.
pub fn standalone(d: &Diagram, id: &str, options: Options) -> String {
    draw(d, id, options, true)
}

/// An SVG element to inline in the report's page (its stylesheet is the
/// page's).
pub fn inline(d: &Diagram, id: &str, options: Options) -> String {
    draw(d, id, options, false)
}

/// `x` with at most one decimal.
fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn draw(d: &Diagram, id: &str, options: Options, standalone: bool) -> String {
    let l = Layout::of(d, options);
    let mut s = String::with_capacity(16 * 1024);
    let xmlns = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let _ = write!(
        s,
        r#"<svg{xmlns} class="seq" id="{id}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">"#,
        id = esc(id),
        w = n(l.width),
        h = n(l.height),
        label = esc(&d.title),
    );
    if standalone {
        let _ = write!(s, "<style>{CSS}</style>");
        let _ = write!(s, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    }
    defs(&mut s, id);
    let _ = write!(
        s,
        r#"<text class="title" x="12" y="21">{}</text><text class="sub" x="12" y="38">{}</text>"#,
        esc(&fit(&d.title, ((l.width - 24.0) / 8.4) as usize)),
        esc(&fit(&d.subtitle, ((l.width - 24.0) / 6.0) as usize))
    );
    backgrounds(&mut s, d, &l);
    lanes(&mut s, d, &l);
    for span in &d.spans {
        span_(&mut s, &l, id, span);
    }
    for bar in &d.bars {
        bar_(&mut s, d, &l, id, bar);
    }
    for (i, row) in d.rows.iter().enumerate() {
        row_(&mut s, d, &l, i, row, standalone);
    }
    legend(&mut s, &l, id);
    if !standalone {
        let _ = write!(
            s,
            r#"<rect class="curtain" x="0" y="{}" width="{}" height="0"/>"#,
            n(l.rows_end),
            n(l.width)
        );
    }
    s.push_str("</svg>");
    s
}

/// The key to the bars and shades present in the diagram, under it.
fn legend(s: &mut String, l: &Layout, id: &str) {
    let id = esc(id);
    for &(key, x, y) in &l.keys {
        let swatch = match key {
            Key::Lease => {
                r##"<rect width="12" height="10" fill="#94a3b8" fill-opacity=".45"/>"##.to_owned()
            }
            Key::Holds => {
                r##"<rect x="3" width="6" height="10" rx="1" fill="#334155"/>"##.to_owned()
            }
            Key::Stale => {
                format!(
                    r#"<rect x="3" width="6" height="10" class="stale" fill="url(#{id}-red)"/>"#
                )
            }
            Key::Paused => format!(r#"<rect width="12" height="10" fill="url(#{id}-gray)"/>"#),
            Key::Crashed => format!(r#"<rect width="12" height="10" fill="url(#{id}-dark)"/>"#),
            Key::Breaks => r#"<rect width="12" height="10" class="breakband"/>"#.to_owned(),
        };
        let _ = write!(
            s,
            r#"<g class="legend" transform="translate({} {})">{swatch}<text x="17" y="9">{}</text></g>"#,
            n(x),
            n(y),
            key.label()
        );
    }
}

fn defs(s: &mut String, id: &str) {
    let hatch = |name: &str, color: &str, opacity: &str| {
        format!(
            r#"<pattern id="{id}-{name}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2.5" height="6" fill="{color}" opacity="{opacity}"/></pattern>"#
        )
    };
    let _ = write!(
        s,
        "<defs>{}{}{}</defs>",
        hatch("red", RED, ".7"),
        hatch("gray", "#64748b", ".45"),
        hatch("dark", "#1e293b", ".6"),
    );
}

fn backgrounds(s: &mut String, d: &Diagram, l: &Layout) {
    // The rows' highlights (current, hovered), under everything else.
    for i in 0..d.rows.len() {
        let _ = write!(
            s,
            r#"<rect class="hl" data-i="{i}" x="0" y="{}" width="{}" height="{}"/>"#,
            n(l.row_y[i]),
            n(l.width),
            n(l.row_h[i])
        );
    }
    for i in d.breaking_rows() {
        let _ = write!(
            s,
            r#"<rect class="breakband" x="0" y="{}" width="{}" height="{}"/>"#,
            n(l.row_y[i]),
            n(l.width),
            n(l.row_h[i])
        );
    }
    for strip in &l.strips {
        let mid = strip.y + strip.h / 2.0;
        if strip.gap {
            let _ = write!(
                s,
                r#"<rect class="gap" x="{x}" y="{y}" width="{w}" height="{h}"/><text class="gaptext" x="{tx}" y="{ty}">⋯ {label} ⋯</text>"#,
                x = n(l.gutter),
                y = n(strip.y + 3.0),
                w = n(l.lanes_right - l.gutter),
                h = n(strip.h - 6.0),
                tx = n((l.gutter + l.lanes_right) / 2.0),
                ty = n(mid + 4.0),
                label = esc(&strip.label)
            );
        } else {
            let _ = write!(
                s,
                r#"<line class="divider" x1="8" y1="{y}" x2="{x2}" y2="{y}"/><text class="dividertext" x="{tx}" y="{ty}">{label}</text>"#,
                y = n(mid),
                x2 = n(l.width - 8.0),
                tx = n(l.story_x),
                ty = n(mid - 4.0),
                label = esc(&strip.label)
            );
        }
    }
}

fn lanes(s: &mut String, d: &Diagram, l: &Layout) {
    let w = (l.options.lane_w - 14.0).min(88.0);
    for (i, lane) in d.lanes.iter().enumerate() {
        let x = l.lane_x[i];
        let color = lane_color(d, i);
        let _ = write!(
            s,
            r#"<line class="lane" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}"/>"#,
            x = n(x),
            y1 = n(l.heads_y + HEAD_BOX),
            y2 = n(l.rows_end + 8.0)
        );
        let rx = match lane.kind {
            LaneKind::Client => HEAD_BOX / 2.0,
            _ => 4.0,
        };
        let _ = write!(
            s,
            r#"<rect class="head" x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" stroke="{color}"/><text class="headtext" x="{cx}" y="{ty}" fill="{color}">{label}</text>"#,
            x = n(x - w / 2.0),
            y = n(l.heads_y),
            w = n(w),
            h = n(HEAD_BOX),
            rx = n(rx),
            cx = n(x),
            ty = n(l.heads_y + 17.5),
            label = esc(&fit(&lane.label, (w / 7.2) as usize))
        );
    }
}

fn span_(s: &mut String, l: &Layout, id: &str, span: &super::diagram::Span) {
    let Some(&x) = l.lane_x.get(span.lane) else {
        return;
    };
    let (pattern, label) = match span.kind {
        SpanKind::Paused => ("gray", "paused"),
        SpanKind::Crashed => ("dark", "crashed"),
        SpanKind::Down => ("red", "down"),
    };
    let mut y1 = l.anchor(span.from);
    let mut y2 = l.after(span.to);
    if y2 - y1 < 14.0 {
        let mid = (y1 + y2) / 2.0;
        (y1, y2) = (mid - 7.0, mid + 7.0);
    }
    let w = 30.0;
    // A server's end caps (lost, deleted) are labelled on the right.
    let (tx, anchor) = match span.kind {
        SpanKind::Down => (x - w / 2.0 - 3.0, "end"),
        _ => (x + w / 2.0 + 3.0, "start"),
    };
    let _ = write!(
        s,
        r#"<g class="span {kind}"><rect x="{x}" y="{y}" width="{w}" height="{h}" fill="url(#{id}-{pattern})"/><text class="spantext" text-anchor="{anchor}" x="{tx}" y="{ty}">{label}</text></g>"#,
        kind = label,
        x = n(x - w / 2.0),
        y = n(y1),
        w = n(w),
        h = n(y2 - y1),
        id = esc(id),
        tx = n(tx),
        ty = n(y1 + 10.0),
    );
}

fn bar_(s: &mut String, d: &Diagram, l: &Layout, id: &str, bar: &Bar) {
    let Some(&x) = l.lane_x.get(bar.lane) else {
        return;
    };
    let color = lane_color(d, bar.owner);
    match bar.kind {
        BarKind::Lease => {
            let full = 24.0;
            let _ = write!(s, r#"<g class="lease">"#);
            for row in bar.from..=bar.to {
                let left = bar
                    .left
                    .get(row - bar.from)
                    .copied()
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                let w = (full * left).max(2.5);
                let (y1, y2) = (l.anchor(row), l.after(row));
                let _ = write!(
                    s,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{color}"/>"#,
                    n(x - w / 2.0),
                    n(y1),
                    n(w),
                    n(y2 - y1)
                );
            }
            let (y1, y2) = (l.anchor(bar.from), l.after(bar.to));
            let label = if bar.label.chars().count() <= 3 {
                format!(
                    r#"<text class="leasetext" x="{}" y="{}">{}</text>"#,
                    n(x),
                    n(y1 + 12.0),
                    esc(&bar.label)
                )
            } else {
                let ty = y1 + 6.0;
                format!(
                    r#"<text class="leaselabel" transform="translate({} {}) rotate(90)" fill="{color}">{}</text>"#,
                    n(x + full / 2.0 + 4.0),
                    n(ty),
                    esc(&fit(&bar.label, ((y2 - y1 - 8.0) / 6.0).max(2.0) as usize))
                )
            };
            s.push_str(&label);
            end_cap(s, x, y2, full, bar.end);
            s.push_str("</g>");
        }
        BarKind::Holds | BarKind::Stale => {
            let (y1, y2) = (l.anchor(bar.from), l.after(bar.to));
            let w = 9.0;
            let (class, fill) = if bar.kind == BarKind::Holds {
                ("holds", color.to_owned())
            } else {
                ("stale", format!("url(#{}-red)", esc(id)))
            };
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" rx="2" fill="{fill}"/>"#,
                n(x - w / 2.0),
                n(y1),
                n(w),
                n(y2 - y1)
            );
        }
    }
}

fn end_cap(s: &mut String, x: f64, y: f64, w: f64, end: BarEnd) {
    let (class, text) = match end {
        BarEnd::Open | BarEnd::Released => return,
        BarEnd::Expired => ("capexpired", "ran out"),
        BarEnd::Removed => ("capremoved", "deleted"),
        BarEnd::Lost => ("capremoved", "lost"),
    };
    let _ = write!(
        s,
        r#"<line class="{class}" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="captext {class}t" x="{}" y="{}">{text}</text>"#,
        n(x - w / 2.0 - 3.0),
        n(x + w / 2.0 + 3.0),
        n(x + w / 2.0 + 5.0),
        n(y + 3.5),
        y = n(y),
    );
}

fn row_(s: &mut String, d: &Diagram, l: &Layout, i: usize, row: &Row, standalone: bool) {
    let (y, h) = (l.row_y[i], l.row_h[i]);
    let mut attrs = format!(
        r#" data-i="{i}" data-n="{}" data-y0="{}" data-y1="{}""#,
        row.n,
        n(y),
        n(y + h)
    );
    let replies: Vec<&str> = row
        .calls
        .iter()
        .filter_map(|c| c.reply.as_deref())
        .collect();
    if let Some(c) = &row.command {
        let _ = write!(attrs, r#" data-cmd="{}""#, esc(c));
    }
    if !replies.is_empty() {
        let _ = write!(attrs, r#" data-reply="{}""#, esc(&replies.join(" · ")));
    }
    if let Some(state) = &row.state {
        let _ = write!(attrs, r#" data-state="{}""#, esc(state));
    }
    if let Some(at) = row.at_us {
        let _ = write!(attrs, r#" data-at="{}""#, esc(&micros(at)));
    }
    let class = if row.breaks.is_empty() {
        "row"
    } else {
        "row breaks"
    };
    let _ = write!(s, r#"<g class="{class}"{attrs}>"#);
    if standalone {
        let mut tip = row.says.clone();
        for line in [row.command.as_deref(), row.state.as_deref()]
            .into_iter()
            .flatten()
        {
            tip.push('\n');
            tip.push_str(line);
        }
        let _ = write!(s, "<title>{}</title>", esc(&tip));
    }
    let _ = write!(
        s,
        r#"<rect class="hit" x="0" y="{}" width="{}" height="{}"/>"#,
        n(y),
        n(l.width),
        n(h)
    );
    let a = y + ANCHOR;
    // The margin: the step's number, and its time on a real run.
    let _ = write!(
        s,
        r#"<circle class="num" cx="16" cy="{}" r="10"/><text class="numtext" x="16" y="{}">{}</text>"#,
        n(a),
        n(a + 4.0),
        row.n
    );
    if let Some(at) = row.at_us {
        let _ = write!(
            s,
            r#"<text class="time" x="{}" y="{}">{}</text>"#,
            n(l.gutter - 2.0),
            n(a + 4.0),
            esc(&micros(at))
        );
    }
    glyph(s, d, l, row, a);
    for call in &row.calls {
        arrow(s, d, l, row, call, y);
    }
    story(s, l, i, row, y);
    s.push_str("</g>");
}

fn glyph(s: &mut String, d: &Diagram, l: &Layout, row: &Row, a: f64) {
    let x = row.actor.and_then(|k| l.lane_x.get(k).copied());
    let color = row.actor.map_or("#475569", |k| lane_color(d, k));
    match (row.mark, x) {
        (Mark::Tick, _) => {
            let _ = write!(
                s,
                r#"<line class="tick" x1="{}" y1="{a}" x2="{}" y2="{a}"/><text class="ticktext" x="{}" y="{}">+1 tick</text>"#,
                n(l.gutter + 6.0),
                n(l.lanes_right - 4.0),
                n(l.lanes_right - 6.0),
                n(a - 4.0),
                a = n(a),
            );
        }
        (Mark::Pause, Some(x)) => {
            let _ = write!(
                s,
                r##"<rect x="{}" y="{}" width="16" height="16" rx="3" fill="#fff" stroke="{color}"/><rect x="{}" y="{}" width="3" height="8" fill="{color}"/><rect x="{}" y="{}" width="3" height="8" fill="{color}"/>"##,
                n(x - 8.0),
                n(a - 8.0),
                n(x - 4.0),
                n(a - 4.0),
                n(x + 1.0),
                n(a - 4.0),
            );
        }
        (Mark::Resume, Some(x)) => {
            let _ = write!(
                s,
                r##"<rect x="{}" y="{}" width="16" height="16" rx="3" fill="#fff" stroke="{color}"/><path d="M{} {}l7 4.5l-7 4.5z" fill="{color}"/>"##,
                n(x - 8.0),
                n(a - 8.0),
                n(x - 3.0),
                n(a - 4.5),
            );
        }
        (Mark::Crash, Some(x)) => {
            let _ = write!(
                s,
                r#"<path class="crash" d="M{} {}l12 12m0 -12l-12 12"/>"#,
                n(x - 6.0),
                n(a - 6.0),
            );
        }
        (Mark::Restart, Some(x)) => {
            let _ = write!(
                s,
                r#"<circle class="restart" cx="{}" cy="{}" r="9"/><text class="restarttext" x="{}" y="{}">↻</text>"#,
                n(x),
                n(a),
                n(x),
                n(a + 4.5),
            );
        }
        (Mark::Expired, Some(x)) => {
            let _ = write!(
                s,
                r#"<path class="expired" d="M{} {}l5 5l-5 5l-5 -5z"/>"#,
                n(x),
                n(a - 5.0),
            );
        }
        (Mark::Deliver | Mark::Note, Some(x)) => {
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{}" r="3.5" fill="{color}"/>"#,
                n(x),
                n(a),
            );
        }
        _ => {}
    }
}

fn arrow(s: &mut String, d: &Diagram, l: &Layout, row: &Row, call: &Call, y: f64) {
    let (Some(from), Some(&to)) = (
        row.actor.and_then(|k| l.lane_x.get(k).copied()),
        l.lane_x.get(call.to),
    ) else {
        return;
    };
    let color = row.actor.map_or("#475569", |k| lane_color(d, k));
    let dir = if to >= from { 1.0 } else { -1.0 };
    let a = y + ANCHOR;
    let tip = to - dir * 5.0;
    let _ = write!(
        s,
        r#"<line class="req" x1="{}" y1="{a}" x2="{}" y2="{a}" stroke="{color}"/>{}"#,
        n(from + dir * 5.0),
        n(tip - dir * 6.0),
        head(tip, a, dir, color),
        a = n(a),
    );
    let room = ((to - from).abs() - 14.0).max(MONO_W * 3.0);
    let _ = write!(
        s,
        r#"<text class="call" x="{}" y="{}">{}</text>"#,
        n((from + to) / 2.0),
        n(a - 4.5),
        esc(&fit(&call.label, (room / MONO_W) as usize))
    );
    let Some(reply) = &call.reply else {
        return;
    };
    let (ry, slanted) = match call.reply_row {
        Some(r) if l.row_y.get(r).is_some() => (l.anchor(r), true),
        _ => (y + REPLY, false),
    };
    let start_y = if slanted { a + 6.0 } else { ry };
    let back = from + dir * 5.0;
    let _ = write!(
        s,
        r#"<line class="rep" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{color}"/>{}"#,
        n(to - dir * 4.0),
        n(start_y),
        n(back + dir * 6.0),
        n(ry),
        head(back, ry, -dir, color),
    );
    let tone = match call.tone {
        Tone::Plain => "reply",
        Tone::Good => "reply good",
        Tone::Bad => "reply bad",
    };
    let anchor = if dir > 0.0 { "start" } else { "end" };
    let room = ((to - from).abs() - 18.0).max(MONO_W * 3.0);
    let _ = write!(
        s,
        r#"<text class="{tone}" text-anchor="{anchor}" x="{}" y="{}">{}</text>"#,
        n(back + dir * 9.0),
        n(ry - 4.0),
        esc(&fit(reply, (room / MONO_W) as usize))
    );
    if slanted {
        let _ = write!(
            s,
            r#"<text class="held" x="{}" y="{}">reply held in flight</text>"#,
            n(to - dir * 12.0),
            n(start_y + 16.0),
        );
    }
}

/// An arrowhead pointing in `dir` (+1 right, −1 left) with its tip at x.
fn head(x: f64, y: f64, dir: f64, color: &str) -> String {
    format!(
        r#"<path d="M{} {}l{} -4v8z" fill="{color}"/>"#,
        n(x),
        n(y),
        n(-dir * 8.0)
    )
}

fn story(s: &mut String, l: &Layout, i: usize, row: &Row, y: f64) {
    let story = &l.stories[i];
    let mut ty = y + 21.0;
    let x = n(l.story_x);
    s.push_str(r#"<text class="says">"#);
    for line in &story.says {
        let _ = write!(s, r#"<tspan x="{x}" y="{}">{}</tspan>"#, n(ty), esc(line));
        ty += 15.0;
    }
    s.push_str("</text>");
    if !story.command.is_empty() {
        ty -= 1.5;
        s.push_str(r#"<text class="cmd">"#);
        for line in &story.command {
            let _ = write!(s, r#"<tspan x="{x}" y="{}">{}</tspan>"#, n(ty), esc(line));
            ty += 13.5;
        }
        s.push_str("</text>");
    }
    let mut px = l.story_x;
    for p in &row.breaks {
        let text = format!("✗ breaks {p}");
        let w = text.chars().count() as f64 * 6.7 + 12.0;
        let _ = write!(
            s,
            r#"<rect class="pill" x="{}" y="{}" width="{}" height="16" rx="8"/><text class="pilltext" x="{}" y="{}">{}</text>"#,
            n(px),
            n(ty - 9.0),
            n(w),
            n(px + 6.0),
            n(ty + 3.0),
            esc(&text)
        );
        px += w + 6.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::diagram::{Lane, Span};

    pub(crate) fn sample() -> Diagram {
        let lane = |id: &str, kind| Lane {
            id: id.into(),
            label: id.into(),
            kind,
        };
        let call = |to, label: &str, reply: &str, tone| Call {
            to,
            label: label.into(),
            reply: Some(reply.into()),
            reply_row: None,
            tone,
        };
        Diagram {
            title: "naive under pause <&>".into(),
            subtitle: "a row is a step".into(),
            lanes: vec![
                lane("c1", LaneKind::Client),
                lane("c2", LaneKind::Client),
                lane("Redis", LaneKind::Server),
            ],
            rows: vec![
                Row {
                    n: 1,
                    actor: Some(0),
                    calls: vec![call(2, "SET lock 1 NX PX 3", "OK", Tone::Plain)],
                    says: "c1 acquires the lock".into(),
                    command: Some("SET lock 1 NX PX <3 ticks> → OK".into()),
                    state: Some("lock: c1's".into()),
                    ..Row::default()
                },
                Row {
                    n: 2,
                    actor: Some(0),
                    mark: Mark::Pause,
                    says: "c1 pauses".into(),
                    ..Row::default()
                },
                Row {
                    n: 3,
                    mark: Mark::Tick,
                    says: "a tick passes".into(),
                    ..Row::default()
                },
                Row {
                    n: 4,
                    actor: Some(1),
                    calls: vec![call(2, "SET lock 1 NX PX 3", "OK", Tone::Plain)],
                    says: "c2 acquires the lock".into(),
                    breaks: vec!["mutual-exclusion".into()],
                    ..Row::default()
                },
                Row {
                    n: 5,
                    actor: Some(0),
                    calls: vec![call(2, "DEL lock", "1", Tone::Bad)],
                    says: "c1 releases: its DEL removes c2's lock".into(),
                    ..Row::default()
                },
            ],
            bars: vec![Bar {
                lane: 2,
                from: 0,
                to: 2,
                kind: BarKind::Lease,
                owner: 0,
                label: "c1".into(),
                left: vec![1.0, 1.0, 0.0],
                end: BarEnd::Expired,
            }],
            spans: vec![Span {
                lane: 0,
                from: 1,
                to: 3,
                kind: SpanKind::Paused,
            }],
            ..Diagram::default()
        }
    }

    #[test]
    fn draws_every_row_call_and_bar_with_escaped_text() {
        let svg = standalone(&sample(), "x", Options::model());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"<g class="row"#).count(), 5);
        assert_eq!(svg.matches(r#"class="req""#).count(), 3);
        assert!(svg.contains("naive under pause &lt;&amp;&gt;"));
        assert!(svg.contains("✗ breaks mutual-exclusion"));
        assert!(svg.contains("url(#x-gray)") && svg.contains(r#"id="x-gray""#));
        assert!(svg.contains("<title>"), "standalone rows have tooltips");
        let inline = inline(&sample(), "x", Options::model());
        assert!(!inline.contains("xmlns") && inline.contains(r#"class="curtain""#));
    }
}
