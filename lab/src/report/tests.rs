//! The page and the drawings, parsed: well-formed XML (roxmltree, strict),
//! nothing that reaches outside the file, every violated cell linked to a
//! card with its breaking step marked; and the `--from` refusals.

use std::collections::HashSet;

use locklab_model::{
    check, CheckOptions, Fault, Faults, Kind, PropertyName, Protocol, Scenario, Verdict,
};

use super::diagram::Mark;
use super::from_json::{self, real_diagram};
use super::input::{
    BenchOutput, BenchRow, ChaosCell, ChaosOutput, ChaosShrunk, CheckOutput, CheckRow,
    CheckSummary, Input, InputError, Inputs, ReplayRow, ReproduceOutput,
};
use super::page::{self, PageMeta};
use super::{figures, sequence};
use crate::history::{Event, Op};
use crate::output::envelope::Envelope;
use locklab_model::{ClientOp, Outcome};

fn input<T>(command: &str, body: T) -> Input<T> {
    Input {
        envelope: Envelope::now(command),
        origin: format!("test {command}"),
        body,
    }
}

fn check_output(scenarios: &[(Protocol, Faults)]) -> CheckOutput {
    let mut verdicts = Vec::new();
    let (mut violations, mut states) = (0, 0);
    for &(p, f) in scenarios {
        let o = check(Scenario::new(p, f), &CheckOptions::default(), &|_| {});
        states += o.unique_states;
        for v in o.verdicts {
            if v.verdict == Verdict::Violated && v.kind != Kind::Sometimes {
                violations += 1;
            }
            verdicts.push(CheckRow {
                scenario: o.scenario,
                verdict: v,
                unique_states: o.unique_states,
                complete: o.complete,
            });
        }
    }
    CheckOutput {
        symmetry: true,
        verdicts,
        summary: CheckSummary {
            broken: vec![],
            unknown: vec![],
            violations,
            unique_states: states,
        },
        secs: 0.1,
    }
}

fn ev(
    client: &str,
    (op, outcome): (Op, Option<Outcome>),
    start_us: u64,
    end_us: Option<u64>,
) -> Event {
    let mut e = Event::new(client, op, start_us);
    e.outcome = outcome;
    e.end_us = end_us;
    if op == Op::Observed {
        e.present = Some(false);
    }
    e
}

fn granted() -> (Op, Option<Outcome>) {
    (Op::call(ClientOp::Acquire), Some(Outcome::GRANTED))
}

fn fault(op: Op) -> (Op, Option<Outcome>) {
    (op, None)
}

/// The history `reproduce` records for naive's unsafe release (as seen on
/// a real run).
fn unsafe_release_history() -> Vec<Event> {
    vec![
        ev("c1", granted(), 0, Some(147)),
        ev(
            "c1",
            (Op::call(ClientOp::Write), Some(Outcome::Accepted)),
            148,
            Some(213),
        ),
        ev("c1", fault(Op::Pause), 214, Some(214)),
        ev("lab", fault(Op::Observed), 301_143, Some(301_143)),
        ev("c1", fault(Op::Resume), 301_144, Some(301_144)),
        ev("c2", granted(), 301_145, Some(301_240)),
        ev(
            "c1",
            (Op::call(ClientOp::Release), Some(Outcome::Deleted)),
            301_240,
            Some(301_526),
        ),
        ev("c3", granted(), 301_527, Some(302_015)),
    ]
}

fn inputs() -> Inputs {
    let pause = Faults::one(Fault::Pause);
    let check = check_output(&[
        (Protocol::named("naive").unwrap(), Faults::NONE),
        (Protocol::named("naive").unwrap(), pause),
        (Protocol::named("fenced").unwrap(), pause),
        (
            Protocol::named("fenced").unwrap(),
            Faults::one(Fault::Restart),
        ),
    ]);
    let me = check
        .verdicts
        .iter()
        .find(|r| {
            r.scenario.protocol == Protocol::named("naive").unwrap()
                && r.scenario.faults == pause
                && r.verdict.property == PropertyName::MutualExclusion
        })
        .and_then(|r| r.verdict.counterexample.clone())
        .expect("naive breaks mutual exclusion under a pause");
    let history = unsafe_release_history();
    let finding = crate::history::finding(
        &crate::history::History {
            events: history.clone(),
        },
        PropertyName::NoForeignRelease,
    );
    let reproduce = ReproduceOutput {
        redis: "embedded".into(),
        tick_ms: 100,
        replays: vec![ReplayRow {
            found_in: "naive".into(),
            protocol: Protocol::named("naive").unwrap(),
            faults: vec![Fault::Pause],
            property: PropertyName::NoForeignRelease,
            schedule_from: Protocol::named("naive").unwrap(),
            model: Verdict::Violated,
            real: finding.verdict,
            agree: finding.verdict == Verdict::Violated,
            divergence: None,
            error: None,
            steps: 10,
            finding: Some(finding),
            history: Some(history),
        }],
        agreed: 1,
        disagreed: 0,
        secs: 1.0,
    };
    let property = PropertyName::MutualExclusion;
    let chaos = ChaosOutput {
        seed: 1,
        tick_ms: 25,
        runs: vec![ChaosCell {
            scenario: Scenario::new(Protocol::named("naive").unwrap(), pause),
            schedules: 20,
            late: 0,
            diverged: 0,
            verdict: None,
            violations: [(property, 4)].into_iter().collect(),
            first_violation: [(property, 3)].into_iter().collect(),
            model: [(property, Verdict::Violated)].into_iter().collect(),
            agree: true,
            disagreements: vec![],
            shrunk: [(
                property,
                ChaosShrunk {
                    from_len: 28,
                    len: me.len(),
                    shrink_steps: 24,
                    schedule: locklab_model::step::format_schedule(
                        &me.iter().map(|s| s.step).collect::<Vec<_>>(),
                    ),
                    steps: me,
                    replay: None,
                },
            )]
            .into_iter()
            .collect(),
            seed: 7,
            secs: 3.0,
        }],
        disagreements: 0,
        secs: 3.0,
    };
    let row = |clients, latency: bool| BenchRow {
        variant: "token/poll".into(),
        peer: false,
        clients,
        masters: 1,
        grants_per_s: 20_000.0,
        fairness_max_over_min: Some(1.0),
        starved: 0,
        handoff_p50_rtt: 2.2,
        handoff_p99_rtt: 5.0,
        overlaps: 0,
        mutual_exclusion: Verdict::Holds,
        errors: 0,
        acquire_p50_rtt: latency.then_some(1.1),
        acquire_p99_rtt: latency.then_some(2.5),
        release_p50_rtt: latency.then_some(1.1),
        acquire_p999_us: latency.then_some(90.0),
        acquire_percentiles_us: latency.then(|| vec![17.0, 18.0, 19.0, 20.0, 40.0, 90.0, 200.0]),
    };
    let bench = BenchOutput {
        rtt_us: 16.0,
        rtt_p99_us: 25.0,
        servers: "embedded".into(),
        ttl_ms: 10_000,
        duration_secs: 0.3,
        quick: true,
        uncontended: vec![row(1, true)],
        contended: vec![row(1, false), row(8, false)],
        broken: vec![],
    };
    Inputs {
        check: Some(input("check", check)),
        reproduce: Some(input("reproduce", reproduce)),
        chaos: Some(input("chaos", chaos)),
        bench: Some(input("bench", bench)),
    }
}

fn meta() -> PageMeta {
    PageMeta {
        version: "0.1.0".into(),
        written: "2026-01-01 00:00 UTC".into(),
        how: "made by a unit test".into(),
        redis: Some("7.0.15".into()),
    }
}

/// Every element of a parsed document.
fn elements<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.is_element()).collect()
}

/// No external reference: no URL, no `src`, links only within the page.
fn assert_self_contained(text: &str, doc: &roxmltree::Document<'_>, what: &str) {
    let allowed = "http://www.w3.org/2000/svg";
    let rest = text.replace(allowed, "");
    for scheme in ["http://", "https://", "//cdn", "url(http", "@import"] {
        assert!(!rest.contains(scheme), "{what} mentions {scheme}");
    }
    for n in elements(doc) {
        for a in n.attributes() {
            assert_ne!(
                a.name(),
                "src",
                "{what}: a src= on <{}>",
                n.tag_name().name()
            );
            if a.name() == "href" {
                assert!(a.value().starts_with('#'), "{what}: href={}", a.value());
            }
        }
    }
}

#[test]
fn the_page_is_well_formed_and_reaches_nothing_outside_itself() {
    let html = page::html(&from_json::evidence(&inputs()), &meta());
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("the page is not well-formed: {e}"));
    assert_self_contained(&html, &doc, "the page");
    let all = elements(&doc);
    let mut ids = HashSet::new();
    for n in &all {
        if let Some(id) = n.attribute("id") {
            assert!(ids.insert(id), "id {id} twice");
        }
    }
    // Every violated cell links to a card holding a diagram whose rows
    // mark the property broken.
    let violated: Vec<_> = all
        .iter()
        .filter(|n| {
            n.tag_name().name() == "td"
                && n.attribute("class").is_some_and(|c| c.contains("violated"))
        })
        .collect();
    assert!(violated.len() >= 4, "{} violated cells", violated.len());
    for td in violated {
        let href = td
            .descendants()
            .find_map(|a| a.attribute("href"))
            .expect("a violated cell links to its evidence");
        let card = all
            .iter()
            .find(|n| n.attribute("id") == Some(&href[1..]))
            .unwrap_or_else(|| panic!("no element {href}"));
        assert!(
            card.descendants()
                .any(|n| n.attribute("class") == Some("row breaks")),
            "{href} has no breaking row"
        );
    }
    let diagrams = all
        .iter()
        .filter(|n| n.attribute("class") == Some("diagram"))
        .count();
    assert!(diagrams >= 6, "{diagrams} diagrams");
    assert_eq!(
        all.iter()
            .filter(|n| n.tag_name().name() == "script")
            .count(),
        1
    );
}

#[test]
fn the_script_and_stylesheets_keep_the_page_xml() {
    for (name, text) in [
        ("page.js", include_str!("assets/page.js")),
        ("page.css", include_str!("assets/page.css")),
        ("sequence.css", sequence::CSS),
    ] {
        assert!(
            !text.contains('<') && !text.contains('&'),
            "{name} has < or &"
        );
    }
}

#[test]
fn every_figure_is_a_standalone_svg_document() {
    let e = from_json::evidence(&inputs());
    let figures = figures(&e);
    assert!(figures.len() >= 6, "{} figures", figures.len());
    let mut names = HashSet::new();
    for f in &figures {
        assert!(names.insert(f.name.clone()), "figure {} twice", f.name);
        let doc = roxmltree::Document::parse(&f.svg)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", f.name));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{}", f.name);
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_self_contained(&f.svg, &doc, &f.name);
        // Every url(#…) names a pattern of the same document.
        for n in doc.descendants() {
            if let Some(fill) = n.attribute("fill").filter(|f| f.starts_with("url(#")) {
                let id = &fill[5..fill.len() - 1];
                assert!(
                    doc.descendants().any(|m| m.attribute("id") == Some(id)),
                    "{}: {fill} is not defined",
                    f.name
                );
            }
        }
    }
    assert!(names.contains("naive-pause-no-foreign-release"));
    assert!(names.contains("naive-pause-no-foreign-release-real"));
}

#[test]
fn the_model_marks_the_break_and_the_real_run_marks_the_same() {
    let e = from_json::evidence(&inputs());
    let card = e
        .cards
        .iter()
        .find(|c| c.anchor == "cx-naive-pause-no-foreign-release")
        .expect("a card for the unsafe release");
    let marked = |d: &super::Diagram, p: &str| -> Vec<usize> {
        d.rows
            .iter()
            .filter(|r| r.breaks.iter().any(|b| b == p))
            .map(|r| r.n)
            .collect()
    };
    // The DEL (step 9) breaks no-foreign-release; c2's and then c3's grant
    // break mutual exclusion.
    assert_eq!(marked(&card.model, "no-foreign-release"), [9]);
    assert_eq!(marked(&card.model, "mutual-exclusion"), [8, 10]);
    let real = card.real.as_ref().expect("the real run");
    let release = real
        .rows
        .iter()
        .position(|r| r.says.starts_with("c1 release"))
        .expect("the release row");
    assert_eq!(real.rows[release].breaks, ["no-foreign-release"]);
    assert_eq!(marked(real, "mutual-exclusion").len(), 2);
}

#[test]
fn a_reply_held_in_flight_lands_on_a_later_row() {
    let events = vec![
        ev("c1", granted(), 0, Some(300_428)),
        ev("lab", fault(Op::Observed), 300_427, Some(300_427)),
        ev("c2", granted(), 300_500, Some(300_600)),
    ];
    let d = real_diagram("t", "s", "token".parse().unwrap(), &events, 300_000);
    assert_eq!(d.rows.len(), 4, "three invocations and the late reply");
    let deliver = d
        .rows
        .iter()
        .position(|r| r.mark == Mark::Deliver)
        .expect("a row where c1 reads its reply");
    assert_eq!(d.rows[0].calls[0].reply_row, Some(deliver));
    assert!(deliver > 1, "after Redis expired the key");
    let svg = sequence::standalone(&d, "held", super::layout::Options::compact());
    assert!(svg.contains("reply held in flight"));
}

#[test]
fn foreign_old_and_malformed_json_is_refused_in_one_line() {
    let envelope = |format: u32, command: &str| serde_json::json!({"version": "0.1.0", "format": format, "command": command, "argv": [], "at_unix": 0, "machine": {"os": "linux", "arch": "x86_64", "cores": 2}});
    type Expect = fn(&InputError) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        ("not json".into(), |e| {
            matches!(e, InputError::NotJson { .. })
        }),
        (r#"{"verdicts": []}"#.into(), |e| {
            matches!(e, InputError::Foreign { .. })
        }),
        ("[1, 2]".into(), |e| matches!(e, InputError::Foreign { .. })),
        (
            serde_json::json!({"locklab": envelope(999, "check")}).to_string(),
            |e| matches!(e, InputError::Incompatible { .. }),
        ),
        (
            serde_json::json!({"locklab": {"format": "one"}}).to_string(),
            |e| matches!(e, InputError::Incompatible { .. }),
        ),
        (
            serde_json::json!({"locklab": envelope(1, "explore")}).to_string(),
            |e| matches!(e, InputError::UnknownCommand { .. }),
        ),
        (
            serde_json::json!({"locklab": envelope(1, "check"), "verdicts": 3}).to_string(),
            |e| matches!(e, InputError::Malformed { .. }),
        ),
    ];
    for (text, expected) in cases {
        let e = Inputs::default().add(&text, "in.json").unwrap_err();
        assert!(expected(&e), "{text}: {e:?}");
        let line = e.to_string();
        assert!(
            !line.contains('\n') && line.starts_with("--from in.json"),
            "{line}"
        );
    }
    let mut twice = Inputs::default();
    let bench = serde_json::json!({"locklab": envelope(1, "bench"), "rtt_us": 1.0, "rtt_p99_us": 1.0, "servers": "embedded", "ttl_ms": 100, "duration_secs": 0.3, "quick": true, "uncontended": [], "contended": [], "broken": []}).to_string();
    twice.add(&bench, "a.json").unwrap();
    assert!(matches!(
        twice.add(&bench, "b.json"),
        Err(InputError::Duplicate { .. })
    ));
}
