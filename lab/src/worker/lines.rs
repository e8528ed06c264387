//! [`Lines`]: newline-delimited lines read from a pipe on the tokio
//! runtime's own reactor — the lab reading a worker's stdout, a worker
//! reading its stdin — so that a line wakes the task waiting for it
//! directly. (A reader thread would add a wake-up of its own to every
//! request and every reply: on a small machine about a Redis round trip.)

use tokio::io::{AsyncRead, AsyncReadExt};

use super::wire::MAX_LINE;

/// One line, or the end of the readable ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its newline (and trailing whitespace).
    Text(String),
    /// A line over [`MAX_LINE`] bytes; nothing is read after it.
    TooLong,
}

/// The lines of `R`.
#[derive(Debug)]
pub struct Lines<R> {
    input: R,
    partial: Vec<u8>,
    ended: bool,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// Lines read from `input`.
    pub fn new(input: R) -> Self {
        Lines {
            input,
            partial: Vec::new(),
            ended: false,
        }
    }

    /// The next line; `None` once the input closed (or after a line over
    /// [`MAX_LINE`], which ends the reading). Cancel-safe: bytes are kept
    /// once read, so a line whose wait was cancelled is returned by the
    /// next call.
    pub async fn next(&mut self) -> Option<Line> {
        loop {
            if let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=end).collect();
                return Some(text(&line));
            }
            if self.partial.len() > MAX_LINE {
                self.partial.clear();
                self.ended = true;
                return Some(Line::TooLong);
            }
            if self.ended {
                if self.partial.is_empty() {
                    return None;
                }
                let line = std::mem::take(&mut self.partial);
                return Some(text(&line));
            }
            let mut buf = [0u8; 16 * 1024];
            match self.input.read(&mut buf).await {
                Ok(0) | Err(_) => self.ended = true,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
            }
        }
    }
}

fn text(line: &[u8]) -> Line {
    Line::Text(String::from_utf8_lossy(line).trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_split_join_and_end() {
        let input: &[u8] = b"{\"op\":\"ping\"}\r\n\nlast";
        let mut lines = Lines::new(input);
        assert_eq!(
            lines.next().await,
            Some(Line::Text(r#"{"op":"ping"}"#.into()))
        );
        assert_eq!(lines.next().await, Some(Line::Text(String::new())));
        assert_eq!(lines.next().await, Some(Line::Text("last".into())));
        assert_eq!(lines.next().await, None);
        let long = vec![b'x'; MAX_LINE + 2];
        let mut lines = Lines::new(long.as_slice());
        assert_eq!(lines.next().await, Some(Line::TooLong));
        assert_eq!(lines.next().await, None);
    }
}
