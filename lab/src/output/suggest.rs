//! "Did you mean": the known name nearest to a typo, by the same measure
//! clap uses for flags (Jaro–Winkler above 0.8), so a misspelt protocol,
//! property or fault is answered the way a misspelt flag is.

/// The known name most like `word`, if one is close enough.
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// `message` with ` (did you mean `NAME`?)` after the word it quotes
/// (or at its end), when a known name is near: first, before any list of
/// every known name.
pub fn with_hint<'a>(
    message: String,
    word: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> String {
    let Some(name) = nearest(word, known) else {
        return message;
    };
    let hint = format!(" (did you mean `{name}`?)");
    let quoted = format!("`{word}`");
    match message.find(&quoted) {
        Some(at) => {
            let end = at + quoted.len();
            format!("{}{hint}{}", &message[..end], &message[end..])
        }
        None => format!("{message}{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_nearest_name_and_nonsense_gets_none() {
        let known = ["naive", "token", "fenced", "redlock", "sync-cas"];
        assert_eq!(nearest("tokn", known), Some("token"));
        assert_eq!(nearest("redlok", known), Some("redlock"));
        assert_eq!(nearest("sync-cass", known), Some("sync-cas"));
        assert_eq!(nearest("paxos", known), None);
        assert_eq!(
            with_hint("unknown protocol `tokn`; known: …".into(), "tokn", known),
            "unknown protocol `tokn` (did you mean `token`?); known: …"
        );
    }
}
