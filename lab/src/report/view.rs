//! What the page shows, already decided: the converters in
//! [`super::from_json`] fill these from the commands' outputs, and the page
//! ([`super::page`]) only lays them out. Words and numbers are final here;
//! the page adds no knowledge of protocols or properties.

use super::diagram::Diagram;

/// Everything on the page.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Headline facts, one short sentence each.
    pub headline: Vec<Fact>,
    /// The verdict matrix.
    pub matrix: Option<Matrix>,
    /// One card per distinct counterexample (or fencing witness).
    pub cards: Vec<Card>,
    /// What chaos found.
    pub chaos: Option<ChaosView>,
    /// The bench.
    pub bench: Option<BenchView>,
    /// How each input was made.
    pub made: Vec<Made>,
}

/// A headline fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// The words.
    pub text: String,
    /// Good news, bad news, or neither.
    pub tone: FactTone,
}

/// The tone of a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactTone {
    /// Everything agrees.
    Good,
    /// A claim broke, or model and Redis disagree.
    Bad,
    /// Information.
    Neutral,
}

/// The verdict matrix: one row per protocol × fault budget.
#[derive(Debug, Default)]
pub struct Matrix {
    /// A line on the sizes checked.
    pub caption: String,
    /// The property columns: name and statement.
    pub columns: Vec<(String, String)>,
    /// The rows.
    pub rows: Vec<MatrixRow>,
}

/// One row of the matrix.
#[derive(Debug)]
pub struct MatrixRow {
    /// The protocol.
    pub protocol: String,
    /// What the protocol is there to show.
    pub lesson: String,
    /// The fault budget.
    pub faults: String,
    /// One cell per column (`None`: not checked).
    pub cells: Vec<Option<Cell>>,
    /// `ok`, or the witnesses never reached.
    pub witnesses: String,
    /// Unique states.
    pub states: String,
}

/// One verdict in the matrix.
#[derive(Debug)]
pub struct Cell {
    /// `holds`, `violated`, `unknown`, `n/a`.
    pub verdict: String,
    /// Whether the protocol claims it.
    pub claimed: bool,
    /// The anchor of its evidence on the page.
    pub link: Option<String>,
    /// One line per piece of evidence (model, Redis, chaos).
    pub evidence: Vec<String>,
    /// The same, as short marks under the verdict (`Redis ✓`, `chaos 4/20`).
    pub marks: Vec<String>,
    /// Whether Redis or chaos disagree with the model here.
    pub disagrees: bool,
}

/// A distinct counterexample path (or a fencing witness), with everything
/// known about it.
#[derive(Debug)]
pub struct Card {
    /// Its anchor.
    pub anchor: String,
    /// `naive under pause`.
    pub title: String,
    /// `counterexample` or `witness`.
    pub kind: CardKind,
    /// The matrix cells it stands for, in words: `pause · mutual-exclusion
    /// violated`.
    pub cells: Vec<String>,
    /// The same cells as (protocol, faults, property), for linking.
    pub covers: Vec<(String, String, String)>,
    /// The property statements, one per property it breaks.
    pub statements: Vec<String>,
    /// The model's path.
    pub model: Diagram,
    /// The same schedule on real Redis, on the same protocol.
    pub real: Option<Diagram>,
    /// A line per property saying whether Redis agreed.
    pub real_says: Vec<String>,
    /// Per property: Redis's verdict on the same protocol, and whether it
    /// agrees with the model.
    pub real_checks: Vec<(String, String, bool)>,
    /// The same schedule on the protocols that fix it.
    pub fixes: Vec<FixPlay>,
    /// The schedule as `--schedule` reads it.
    pub schedule: String,
}

/// What a card shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardKind {
    /// A shortest path to a broken property.
    Counterexample,
    /// A path showing a property holding where it is tested (fencing at
    /// work).
    Witness,
}

/// A schedule played on another protocol.
#[derive(Debug)]
pub struct FixPlay {
    /// The protocol played.
    pub protocol: String,
    /// One line per property: model, Redis, agreement.
    pub verdicts: Vec<String>,
    /// Whether all agree.
    pub agree: bool,
    /// The real run.
    pub diagram: Option<Diagram>,
}

/// What chaos found.
#[derive(Debug, Default)]
pub struct ChaosView {
    /// A line on the run.
    pub caption: String,
    /// The summary table.
    pub table: Table,
    /// The anchor of each table row's cell.
    pub row_anchors: Vec<String>,
    /// Shrunk failures.
    pub shrunk: Vec<ShrunkView>,
    /// Disagreements, one line each.
    pub disagreements: Vec<String>,
}

/// A shrunk chaos failure.
#[derive(Debug)]
pub struct ShrunkView {
    /// Its anchor.
    pub anchor: String,
    /// `naive under pause — mutual-exclusion`.
    pub title: String,
    /// `shrunk from 28 to 6 steps in 24 replays`.
    pub caption: String,
    /// The schedule, drawn.
    pub diagram: Diagram,
    /// The one-line command that replays it.
    pub command: String,
}

/// The bench.
#[derive(Debug, Default)]
pub struct BenchView {
    /// A line on the run (RTT, duration).
    pub caption: String,
    /// The tables, each with its title.
    pub tables: Vec<(String, Table)>,
    /// The plots: title and SVG.
    pub charts: Vec<(String, String)>,
    /// Rows that broke mutual exclusion when they should not.
    pub broken: Vec<String>,
}

/// A table of text.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headings.
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// Columns holding numbers (right-aligned).
    pub numeric: Vec<usize>,
}

/// How one input was made.
#[derive(Debug)]
pub struct Made {
    /// `check`, …
    pub command: String,
    /// The command line.
    pub argv: String,
    /// Where it was read from.
    pub origin: String,
    /// `name: value` lines.
    pub facts: Vec<(String, String)>,
}
