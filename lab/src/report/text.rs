//! Text for the page and the drawings: escaping for HTML and SVG (the same
//! five characters), wrapping to a width the drawing can afford, and the
//! numbers people read (µs with digit groups, durations, dates).

/// Escapes text for an HTML or SVG text node or a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Breaks `text` into lines of at most `width` characters, at spaces
/// (a word longer than the width gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Cuts `text` to at most `max` characters, ending in `…` when cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = text.chars().take(keep).collect();
    out.push('…');
    out
}

/// µs with thin-space digit groups: `301 512 µs`.
pub fn micros(us: u64) -> String {
    let digits = us.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out.push_str(" µs");
    out
}

/// A duration in µs, in the unit that reads best: `480 µs`, `3.4 ms`,
/// `301 ms`, `2.1 s`.
pub fn duration(us: u64) -> String {
    let f = us as f64;
    if us < 1000 {
        format!("{us} µs")
    } else if us < 10_000 {
        format!("{:.1} ms", f / 1e3)
    } else if us < 1_000_000 {
        format!("{:.0} ms", f / 1e3)
    } else {
        format!("{:.1} s", f / 1e6)
    }
}

/// A Unix time as `2026-11-01 09:40 UTC`.
pub fn utc(at_unix: u64) -> String {
    let days = (at_unix / 86_400) as i64;
    let secs = at_unix % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// A slug for an HTML id: lowercase letters, digits and `-`.
pub fn slug(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() {
            out.push('-');
        }
        for c in part.chars() {
            match c {
                'a'..='z' | '0'..='9' => out.push(c),
                'A'..='Z' => out.push(c.to_ascii_lowercase()),
                _ if !out.ends_with('-') => out.push('-'),
                _ => {}
            }
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_keeps_long_words_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("averylongword x", 4), ["averylongword", "x"]);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(micros(301_512), "301\u{2009}512 µs");
        assert_eq!(micros(12), "12 µs");
        assert_eq!(duration(480), "480 µs");
        assert_eq!(duration(3_400), "3.4 ms");
        assert_eq!(duration(301_000), "301 ms");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_704_067_200 + 3_660), "2024-01-01 01:01 UTC");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(
            slug(&["naive", "pause=2+crash", "No Foreign"]),
            "naive-pause-2-crash-no-foreign"
        );
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
