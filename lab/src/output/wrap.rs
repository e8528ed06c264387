//! Prose lines (counterexample steps, legends, notes) wrapped to a
//! terminal of [`WIDTH`] columns, by words and display width.

pub use super::table::WIDTH;

/// `text` as lines of at most [`WIDTH`] columns: the first starts with
/// `first`, the others with `rest` (a hanging indent), each ending in a
/// newline.
pub fn wrap(text: &str, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(true);
    let mut out = String::new();
    for line in textwrap::wrap(text, options) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A shell command after `label`, broken before its flags (` --`) into
/// lines of at most [`WIDTH`] columns where it can be, each but the last
/// ending in ` \\`, so that it still pastes into a shell as one command.
pub fn command(label: &str, cmd: &str) -> String {
    let indent = " ".repeat(label.chars().count() + 4);
    let mut pieces = cmd.split(" --");
    let mut line = format!("{label}{}", pieces.next().unwrap_or_default());
    let mut out = String::new();
    for piece in pieces {
        let piece = format!("--{piece}");
        if line.chars().count() + 1 + piece.chars().count() + 2 > WIDTH {
            out.push_str(&line);
            out.push_str(" \\\n");
            line = format!("{indent}{piece}");
        } else {
            line.push(' ');
            line.push_str(&piece);
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_under_a_hanging_indent() {
        let long = "word ".repeat(60);
        let text = wrap(&long, "  ", "      ");
        assert!(text.lines().count() > 1, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("      word")));
        assert_eq!(wrap("short", "  ", "    "), "  short\n");
    }

    #[test]
    fn a_long_command_breaks_before_its_flags() {
        let cmd = format!(
            "locklab chaos --protocol token --schedule '{}'",
            "tick; ".repeat(10)
        );
        let text = command(
            "  replay: ",
            &format!("{cmd} {}", "--tick-ms 50 ".repeat(8).trim()),
        );
        assert!(text.lines().count() > 1, "{text}");
        assert!(
            text.lines().rev().skip(1).all(|l| l.ends_with(" \\")),
            "{text}"
        );
        assert_eq!(
            command("  replay: ", "locklab x --a 1"),
            "  replay: locklab x --a 1\n"
        );
    }
}
