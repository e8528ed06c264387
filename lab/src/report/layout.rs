//! Where everything of a sequence diagram goes: lane columns, row heights
//! (each row as tall as its story needs), the strips between rows for long
//! real-time gaps and dividers. Text is measured by character counts, which
//! is all an SVG written ahead of time can do; the widths are chosen so
//! that common sans-serif fonts fit.

use super::diagram::{BarKind, Clock, Diagram, Mark, SpanKind};
use super::text::wrap;

/// Average width of a character of the story's 12 px sans-serif text.
pub const SANS_W: f64 = 6.3;
/// Width of a character of the 10.5 px monospace labels.
pub const MONO_W: f64 = 6.4;
/// A real-time gap at least this long gets a strip saying how long it was.
pub const GAP_STRIP_US: u64 = 5_000;

/// Sizes a caller may choose.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Width of one lane's column.
    pub lane_w: f64,
    /// Characters per line of the story column.
    pub story_chars: usize,
}

impl Options {
    /// A model counterexample: room for the story.
    pub fn model() -> Options {
        Options {
            lane_w: 104.0,
            story_chars: 54,
        }
    }

    /// A real run or a chaos schedule beside another diagram.
    pub fn compact() -> Options {
        Options {
            lane_w: 92.0,
            story_chars: 40,
        }
    }
}

/// The story of one row, wrapped.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    /// The words.
    pub says: Vec<String>,
    /// The command, in monospace.
    pub command: Vec<String>,
}

/// A strip drawn before a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Strip {
    /// Top.
    pub y: f64,
    /// Height.
    pub h: f64,
    /// Its text.
    pub label: String,
    /// A real-time gap (drawn as a break), or a divider.
    pub gap: bool,
}

/// An entry of the key under a diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A lease bar.
    Lease,
    /// A client that believes it holds, and does.
    Holds,
    /// A client that believes it holds, and does not.
    Stale,
    /// A paused client.
    Paused,
    /// A crashed client.
    Crashed,
    /// A breaking row.
    Breaks,
}

impl Key {
    /// Its words.
    pub fn label(self) -> &'static str {
        match self {
            Key::Lease => "the lease, narrowing as it runs out",
            Key::Holds => "believes it holds the lock",
            Key::Stale => "believes it, but the key is not its own",
            Key::Paused => "paused",
            Key::Crashed => "crashed",
            Key::Breaks => "a step that breaks a property",
        }
    }

    /// The entries a diagram needs.
    fn of(d: &Diagram) -> Vec<Key> {
        let bar = |k: BarKind| d.bars.iter().any(|b| b.kind == k);
        let span = |k: SpanKind| d.spans.iter().any(|x| x.kind == k);
        [
            (bar(BarKind::Lease), Key::Lease),
            (bar(BarKind::Holds), Key::Holds),
            (bar(BarKind::Stale), Key::Stale),
            (span(SpanKind::Paused), Key::Paused),
            (span(SpanKind::Crashed), Key::Crashed),
            (d.breaking_rows().next().is_some(), Key::Breaks),
        ]
        .into_iter()
        .filter_map(|(present, k)| present.then_some(k))
        .collect()
    }
}

/// The computed geometry.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Total width.
    pub width: f64,
    /// Total height.
    pub height: f64,
    /// Width of the left margin (numbers, times).
    pub gutter: f64,
    /// Centre x of each lane.
    pub lane_x: Vec<f64>,
    /// Right edge of the lanes.
    pub lanes_right: f64,
    /// Left edge of the story column.
    pub story_x: f64,
    /// Top of the lane headings.
    pub heads_y: f64,
    /// Top of each row.
    pub row_y: Vec<f64>,
    /// Height of each row.
    pub row_h: Vec<f64>,
    /// The bottom of the last row.
    pub rows_end: f64,
    /// Each row's story, wrapped.
    pub stories: Vec<Story>,
    /// Gap and divider strips.
    pub strips: Vec<Strip>,
    /// The key under the diagram: each entry with its top-left corner.
    pub keys: Vec<(Key, f64, f64)>,
    /// The options used.
    pub options: Options,
}

/// Height of the title block.
const HEAD: f64 = 50.0;
/// Height of the lane headings.
pub const HEAD_BOX: f64 = 26.0;
/// Where in a row its arrows start, below the row's top.
pub const ANCHOR: f64 = 17.0;
/// Where in a row a reply comes back, below the row's top.
pub const REPLY: f64 = 33.0;

impl Layout {
    /// Lays out a diagram.
    pub fn of(d: &Diagram, options: Options) -> Layout {
        let gutter = match d.clock {
            Clock::Steps => 38.0,
            Clock::Micros => 104.0,
        };
        let lanes_left = gutter + 6.0;
        let lane_x: Vec<f64> = (0..d.lanes.len())
            .map(|i| lanes_left + options.lane_w * (i as f64 + 0.5))
            .collect();
        let lanes_right = lanes_left + options.lane_w * d.lanes.len() as f64;
        let story_x = lanes_right + 14.0;
        let story_w = options.story_chars as f64 * SANS_W;
        let mono_chars = (story_w / MONO_W).floor().max(10.0) as usize;
        let heads_y = HEAD;
        let mut y = heads_y + HEAD_BOX + 12.0;
        let (mut row_y, mut row_h, mut stories, mut strips) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, row) in d.rows.iter().enumerate() {
            for divider in d.dividers.iter().filter(|v| v.before == i) {
                strips.push(Strip {
                    y,
                    h: 26.0,
                    label: divider.label.clone(),
                    gap: false,
                });
                y += 26.0;
            }
            if let (Clock::Micros, Some(at), Some(prev)) = (
                d.clock,
                row.at_us,
                i.checked_sub(1).and_then(|p| d.rows[p].at_us),
            ) {
                if at.saturating_sub(prev) >= GAP_STRIP_US {
                    strips.push(Strip {
                        y,
                        h: 22.0,
                        label: format!("{} later", super::text::duration(at - prev)),
                        gap: true,
                    });
                    y += 22.0;
                }
            }
            let story = Story {
                says: wrap(&row.says, options.story_chars),
                command: row
                    .command
                    .as_deref()
                    .map(|c| wrap(c, mono_chars))
                    .unwrap_or_default(),
            };
            let text_h = 10.0
                + 15.0 * story.says.len() as f64
                + 13.5 * story.command.len() as f64
                + if row.breaks.is_empty() { 0.0 } else { 20.0 }
                + 6.0;
            let base = match row.mark {
                Mark::Call if !row.calls.is_empty() => 44.0,
                Mark::Tick => 26.0,
                _ => 32.0,
            };
            let h = text_h.max(base).ceil();
            row_y.push(y);
            row_h.push(h);
            stories.push(story);
            y += h;
        }
        let rows_end = y;
        let width = (story_x + story_w + 12.0).ceil();
        let (mut kx, mut ky) = (12.0, rows_end + 14.0);
        let mut keys = Vec::new();
        for k in Key::of(d) {
            let w = 17.0 + k.label().chars().count() as f64 * 5.6 + 16.0;
            if kx > 12.0 && kx + w > width {
                (kx, ky) = (12.0, ky + 16.0);
            }
            keys.push((k, kx, ky));
            kx += w;
        }
        Layout {
            width,
            height: (ky + 20.0).ceil(),
            keys,
            gutter,
            lane_x,
            lanes_right,
            story_x,
            heads_y,
            row_y,
            row_h,
            rows_end,
            stories,
            strips,
            options,
        }
    }

    /// The y of a row's arrows (and where bars start and end).
    pub fn anchor(&self, row: usize) -> f64 {
        match self.row_y.get(row) {
            Some(y) => y + ANCHOR,
            None => self.rows_end + 6.0,
        }
    }

    /// The y where bars over the state after `row` end: the next row's
    /// anchor, or below the last row.
    pub fn after(&self, row: usize) -> f64 {
        self.anchor(row + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::diagram::{Lane, LaneKind, Row};

    fn diagram(clock: Clock, times: &[u64]) -> Diagram {
        Diagram {
            clock,
            lanes: vec![
                Lane {
                    id: "c1".into(),
                    label: "c1".into(),
                    kind: LaneKind::Client,
                },
                Lane {
                    id: "redis".into(),
                    label: "Redis".into(),
                    kind: LaneKind::Server,
                },
            ],
            rows: times
                .iter()
                .enumerate()
                .map(|(i, &t)| Row {
                    n: i + 1,
                    at_us: Some(t),
                    actor: Some(0),
                    mark: Mark::Pause,
                    says: "word ".repeat(i * 20),
                    ..Row::default()
                })
                .collect(),
            ..Diagram::default()
        }
    }

    #[test]
    fn rows_grow_with_their_story_and_stack_without_overlap() {
        let l = Layout::of(&diagram(Clock::Steps, &[0, 1, 2]), Options::model());
        assert!(l.row_h[2] > l.row_h[0], "{:?}", l.row_h);
        for i in 1..3 {
            assert!(l.row_y[i] >= l.row_y[i - 1] + l.row_h[i - 1]);
        }
        assert!(l.lane_x[0] < l.lane_x[1] && l.lane_x[1] < l.story_x);
        assert!(l.strips.is_empty(), "a model diagram has no time gaps");
    }

    #[test]
    fn a_long_real_time_gap_gets_a_strip() {
        let l = Layout::of(
            &diagram(Clock::Micros, &[0, 200, 301_000]),
            Options::compact(),
        );
        assert_eq!(l.strips.len(), 1);
        assert_eq!(l.strips[0].label, "301 ms later");
        assert!(l.strips[0].y >= l.row_y[1] + l.row_h[1] && l.strips[0].y < l.row_y[2]);
    }
}
