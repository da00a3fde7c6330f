//! "Did you mean ...?": the closest known name to a misspelled one.
//!
//! One rule for every place a caller's name is checked against a known list
//! (request parameters, agent names): the known name with the smallest edit
//! distance (insertions, deletions, substitutions and swaps of two adjacent
//! characters, compared case-insensitively), if that distance is at most a
//! third of the longer name's length (at least 1, at most 3). Ties go to the
//! name listed first. Names longer than [`MAX_LEN`] characters get no
//! suggestion, so the work stays bounded whatever a caller passes.

/// The longest name compared, in characters.
pub const MAX_LEN: usize = 64;

/// The closest of `known` to `name`, if one is close enough; never `name`
/// itself when it is in `known` (then there is nothing to suggest).
pub fn closest<'a, I>(name: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let a: Vec<char> = name.to_lowercase().chars().collect();
    if a.is_empty() || a.len() > MAX_LEN {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    for k in known {
        if k == name {
            return None;
        }
        let b: Vec<char> = k.to_lowercase().chars().collect();
        if b.len() > MAX_LEN {
            continue;
        }
        let limit = (a.len().max(b.len()) / 3).clamp(1, 3);
        let d = distance(&a, &b);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// The words for a name that is not among `known`: `unknown {what} "name":
/// did you mean "closest"?`, or, with nothing close, the known names listed
/// (the first 20).
pub fn unknown_name_message(what: &str, name: &str, known: &[&str]) -> String {
    let shown: String = name.chars().take(MAX_LEN).collect::<String>().escape_debug().to_string();
    match closest(name, known.iter().copied()) {
        Some(s) => format!("unknown {what} \"{shown}\": did you mean \"{s}\"?"),
        None if known.is_empty() => format!("unknown {what} \"{shown}\""),
        None => {
            let list: Vec<String> = known.iter().take(20).map(|k| format!("\"{k}\"")).collect();
            let more = if known.len() > 20 { ", ..." } else { "" };
            format!("unknown {what} \"{shown}\": expected one of {}{more}", list.join(", "))
        }
    }
}

/// The optimal-string-alignment distance between two strings of chars.
fn distance(a: &[char], b: &[char]) -> usize {
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[&str] = &["max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata"];

    #[test]
    fn suggests_the_closest_known_name() {
        assert_eq!(closest("temprature", PARAMS.iter().copied()), Some("temperature"));
        assert_eq!(closest("max_token", PARAMS.iter().copied()), Some("max_tokens"));
        assert_eq!(closest("Temperature", PARAMS.iter().copied()), Some("temperature"));
        assert_eq!(closest("reseacher", ["writer", "researcher"]), Some("researcher"));
        assert_eq!(closest("top_q", PARAMS.iter().copied()), Some("top_p"));
    }

    #[test]
    fn words_for_an_unknown_name() {
        assert_eq!(unknown_name_message("agent option", "maxTurn", &["maxTurns", "model"]), "unknown agent option \"maxTurn\": did you mean \"maxTurns\"?");
        assert_eq!(unknown_name_message("agent", "zed", &["writer", "researcher"]), "unknown agent \"zed\": expected one of \"writer\", \"researcher\"");
    }

    #[test]
    fn nothing_when_far_or_exact_or_huge() {
        assert_eq!(closest("colour", PARAMS.iter().copied()), None);
        assert_eq!(closest("temperature", PARAMS.iter().copied()), None);
        assert_eq!(closest("", PARAMS.iter().copied()), None);
        assert_eq!(closest(&"x".repeat(10_000), PARAMS.iter().copied()), None);
    }
}
