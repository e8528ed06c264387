//! A small aligned text table: the columns are as wide as their widest cell,
//! and a table wider than a terminal ([`WIDTH`]) is printed in parts, each
//! repeating the key columns (a row's name) before the columns that fit.

/// The widest line the lab prints: a terminal of 120 columns.
pub const WIDTH: usize = 120;

/// A table of text cells with a header row.
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The leading columns every part repeats (at least the first).
    key: usize,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            key: 1,
        }
    }

    /// The first `n` columns name a row: a part of a wide table repeats them.
    pub fn key_columns(mut self, n: usize) -> Table {
        self.key = n.max(1);
        self
    }

    /// Adds a row (missing cells are blank).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as lines of text, header first, then a rule; in parts
    /// separated by a blank line when it is wider than [`WIDTH`].
    pub fn render(&self) -> String {
        let widths = self.widths();
        let total = |cols: &[usize]| -> usize {
            cols.iter().map(|&c| widths[c]).sum::<usize>() + 2 * cols.len().saturating_sub(1)
        };
        let all: Vec<usize> = (0..self.header.len()).collect();
        if total(&all) <= WIDTH || self.header.len() <= self.key {
            return self.render_columns(&all);
        }
        let key: Vec<usize> = (0..self.key).collect();
        let mut parts: Vec<Vec<usize>> = Vec::new();
        let mut part = key.clone();
        for c in self.key..self.header.len() {
            let mut wider = part.clone();
            wider.push(c);
            if part.len() > key.len() && total(&wider) > WIDTH {
                parts.push(std::mem::replace(&mut part, key.clone()));
                part.push(c);
            } else {
                part = wider;
            }
        }
        parts.push(part);
        let rendered: Vec<String> = parts.iter().map(|p| self.render_columns(p)).collect();
        rendered.join("\n")
    }

    fn widths(&self) -> Vec<usize> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        widths
    }

    /// These columns of the table.
    fn render_columns(&self, picked: &[usize]) -> String {
        let pick = |cells: &[String]| -> Vec<String> {
            picked
                .iter()
                .map(|&c| cells.get(c).cloned().unwrap_or_default())
                .collect()
        };
        Table {
            header: pick(&self.header),
            rows: self.rows.iter().map(|r| pick(r)).collect(),
            key: self.key,
        }
        .render_all()
    }

    fn render_all(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                out.push_str(cell);
                if i + 1 < columns {
                    let pad = width - cell.chars().count() + 2;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&self.header);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        out.push_str(&line(&rule));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_to_the_widest_cell() {
        let mut t = Table::new(["a", "bbb"]);
        t.row(["xxxx", "y"]);
        assert_eq!(t.render(), "a     bbb\n────  ───\nxxxx  y\n");
    }

    #[test]
    fn a_wide_table_is_printed_in_parts_that_repeat_the_key() {
        let wide = "w".repeat(50);
        let mut t = Table::new(["name", "one", "two", "three"]).key_columns(1);
        t.row(["n", wide.as_str(), wide.as_str(), wide.as_str()]);
        let text = t.render();
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("name")).collect();
        assert_eq!(headers.len(), 2, "{text}");
        assert!(headers[1].ends_with("three"), "{text}");
    }
}
