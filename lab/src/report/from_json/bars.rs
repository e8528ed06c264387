//! What the model's and the real diagrams share: the lanes, and the bars
//! and spans derived from the state after each row.

use super::super::diagram::{Bar, BarEnd, BarKind, Lane, LaneKind, Mark, Span, SpanKind};

/// The lanes of a diagram with `clients` clients, one Redis and, when
/// anyone writes, the resource.
pub(super) fn lanes(clients: &[String], resource: bool) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = clients
        .iter()
        .map(|c| Lane {
            id: c.clone(),
            label: c.clone(),
            kind: LaneKind::Client,
        })
        .collect();
    lanes.push(Lane {
        id: "redis".into(),
        label: "Redis".into(),
        kind: LaneKind::Server,
    });
    if resource {
        lanes.push(Lane {
            id: "resource".into(),
            label: "resource".into(),
            kind: LaneKind::Resource,
        });
    }
    lanes
}

/// Client names in lane order: `c1, c2, …` by number, others after them.
pub(super) fn client_order(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().filter(|n| n != "lab").collect();
    let number = |n: &String| {
        n.strip_prefix('c')
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    names.sort_by(|a, b| number(a).cmp(&number(b)).then(a.cmp(b)));
    names.dedup();
    names
}

/// What one row leaves behind, for the bars.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct After {
    /// The lease: owner lane, label, fraction left.
    pub(super) lease: Option<(usize, String, f64)>,
    /// Client lanes that believe they hold the lock, and whether the key is
    /// their own.
    pub(super) believers: Vec<(usize, bool)>,
}

/// Bars from the state after each row. `ends[j]` says how a lease that
/// stops at row `j` ended.
pub(super) fn bars(afters: &[After], server: usize, ends: &[BarEnd]) -> Vec<Bar> {
    let last = afters.len().saturating_sub(1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < afters.len() {
        if let Some((owner, label, _)) = &afters[i].lease {
            let mut j = i;
            let mut left = Vec::new();
            while j < afters.len() {
                match &afters[j].lease {
                    Some((o, l, f)) if o == owner && l == label => left.push(*f),
                    _ => break,
                }
                j += 1;
            }
            out.push(Bar {
                lane: server,
                from: i,
                to: j - 1,
                kind: BarKind::Lease,
                owner: *owner,
                label: label.clone(),
                left,
                end: if j - 1 == last {
                    BarEnd::Open
                } else {
                    ends.get(j).copied().unwrap_or(BarEnd::Released)
                },
            });
            i = j;
        } else {
            i += 1;
        }
    }
    let lanes: Vec<usize> = {
        let mut l: Vec<usize> = afters
            .iter()
            .flat_map(|a| a.believers.iter().map(|(c, _)| *c))
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    for lane in lanes {
        let state = |i: usize| {
            afters[i]
                .believers
                .iter()
                .find(|(c, _)| *c == lane)
                .map(|(_, own)| *own)
        };
        let mut i = 0;
        while i < afters.len() {
            let Some(own) = state(i) else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j < afters.len() && state(j) == Some(own) {
                j += 1;
            }
            out.push(Bar {
                lane,
                from: i,
                to: j - 1,
                kind: if own { BarKind::Holds } else { BarKind::Stale },
                owner: lane,
                label: String::new(),
                left: Vec::new(),
                end: if j - 1 == last {
                    BarEnd::Open
                } else {
                    BarEnd::Released
                },
            });
            i = j;
        }
    }
    out
}

/// Spans from pause/resume and crash rows: `marks[i]` is row `i`'s mark and
/// lane.
pub(super) fn spans(marks: &[(Mark, Option<usize>)]) -> Vec<Span> {
    let last = marks.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, (mark, lane)) in marks.iter().enumerate() {
        let Some(lane) = *lane else { continue };
        match mark {
            Mark::Pause => {
                let resume = marks[i + 1..]
                    .iter()
                    .position(|(m, l)| *m == Mark::Resume && *l == Some(lane))
                    .map(|p| i + p);
                out.push(Span {
                    lane,
                    from: i,
                    to: resume.unwrap_or(last),
                    kind: SpanKind::Paused,
                });
            }
            Mark::Crash => out.push(Span {
                lane,
                from: i,
                to: last,
                kind: SpanKind::Crashed,
            }),
            Mark::Restart => out.push(Span {
                lane,
                from: i,
                to: i,
                kind: SpanKind::Down,
            }),
            _ => {}
        }
    }
    out
}
