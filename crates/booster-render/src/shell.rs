//! POSIX shell quoting of one word, as Python's `shlex.quote` (D-3).

/// `word` if it is non-empty and made only of `A-Za-z0-9@%+=:,./_-`; otherwise single-quoted.
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_like_shlex() {
        assert_eq!(quote("--model"), "--model");
        assert_eq!(quote("/tmp/test/x=1,2"), "/tmp/test/x=1,2");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(r#"{"a":1}"#), r#"'{"a":1}'"#);
        assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(quote("$(POD_NAME)"), "'$(POD_NAME)'");
        assert_eq!(quote("tcp://*:5557"), "'tcp://*:5557'");
    }
}
