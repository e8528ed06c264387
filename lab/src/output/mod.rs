//! What the subcommands share for reporting: aligned tables for people,
//! JSON for scripts, progress bars on stderr for long work.

pub mod envelope;
pub mod progress;
pub mod row;
pub mod status;
pub mod suggest;
pub mod table;
pub mod tailed;
pub mod wrap;

pub use envelope::print_command_json;
pub use row::row_name;
pub use status::Status;
pub use tailed::Tailed;

use std::io::Write;

use serde::Serialize;

/// Prints a value as pretty JSON on stdout, with a final newline.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A Redis URL as the lab prints it: any password replaced by `***`
/// (`redis://default:***@127.0.0.1:6379/0`).
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => userinfo.to_owned(),
            };
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            masked("redis://default:wrong@127.0.0.1:6379/2"),
            "redis://default:***@127.0.0.1:6379/2"
        );
        assert_eq!(masked("redis://:s3cr3t@h:1"), "redis://:***@h:1");
        assert_eq!(masked("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(masked("redis://user@h"), "redis://user@h");
        assert_eq!(masked("not a url"), "not a url");
    }
}
