//! Helpers for echoing user input inside error messages.

/// Error messages quote what was typed or scanned; a scanner stuck in a loop or a pasted
/// document should not turn one log line into megabytes, so quotes are cut short.
pub(crate) fn excerpt(input: &str) -> String {
    const LIMIT: usize = 40;
    let mut chars = input.chars();
    let head: String = chars.by_ref().take(LIMIT).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn short_input_is_unchanged_and_long_input_is_cut() {
        assert_eq!(excerpt("abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(excerpt(&long).chars().count(), 41);
        assert!(excerpt(&long).ends_with('…'));
    }
}
