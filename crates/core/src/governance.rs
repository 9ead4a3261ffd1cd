//! Rules of access governance that need no I/O: vendor contract clauses and
//! what counts as a real justification.

/// Clauses a vendor contract must contain before the vendor's people get any
/// access (A8; seeds 002, 003): (id, 日本語, English).
pub const CLAUSES: [(&str, &str, &str); 5] = [
    ("confidentiality", "秘密保持", "Confidentiality"),
    (
        "subcontracting",
        "再委託の制限",
        "Sub-contracting restricted",
    ),
    ("liability", "損害賠償責任", "Liability for damages"),
    (
        "return_erasure",
        "契約終了時の返却・消去",
        "Return and erasure at end",
    ),
    ("audit_rights", "監査権", "Audit rights"),
];

/// Letters, digits and ideographs in `text`, ignoring spaces and punctuation,
/// so that "." or "――――" cannot pass for a reason (Teleport #20164).
pub fn meaningful_chars(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Why a free-text reason is not acceptable, or None when it is.
pub fn weak_reason(text: &str, min_chars: usize) -> Option<String> {
    let n = meaningful_chars(text);
    if n < min_chars {
        return Some(format!(
            "write at least {min_chars} letters or digits (this has {n}); say what the case needs and why"
        ));
    }
    let mut distinct: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    // "aaaaaaaaaaaaaaaaaaaa" or "1212121212121212" says nothing.
    if distinct.len() < 4.min(min_chars) {
        return Some("the text repeats a few characters; describe the actual need".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert!(weak_reason(".", 10).is_some());
        assert!(weak_reason("。。。。。。。。。。。。。。", 10).is_some());
        assert!(weak_reason("aaaaaaaaaaaaaaaaaaaa", 10).is_some());
        assert!(weak_reason("お客さまからの解約申出に伴う契約内容確認", 10).is_none());
        assert!(weak_reason("case 4411: verify billing address change", 10).is_none());
        assert!(weak_reason("", 1).is_some());
        assert_eq!(meaningful_chars("a b。c"), 3);
    }
}
