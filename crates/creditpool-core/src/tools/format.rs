//! The `format` values the schema checker asserts, each a small parser of its
//! RFC's grammar. Every draft asserts `date-time`, `date`, `time`, `email`,
//! `hostname`, `ipv4`, `ipv6`, `uri` and `regex`; `uri-reference`,
//! `uri-template` and `json-pointer` from draft-06 on; `iri`, `iri-reference`
//! and `relative-json-pointer` from draft-07 on; `duration` and `uuid` from
//! 2019-09 on (the set the `jsonschema` crate asserted before). Any other
//! format, `idn-email` and `idn-hostname` included, is accepted and not
//! asserted.

use super::schema::{compile_pattern, Draft};

/// A format the checker asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Date,
    DateTime,
    Time,
    Duration,
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Uri,
    UriReference,
    Iri,
    IriReference,
    UriTemplate,
    JsonPointer,
    RelativeJsonPointer,
    Regex,
    Uuid,
}

impl Format {
    /// The asserted format named `name` in `draft`, if any.
    pub(crate) fn for_draft(name: &str, draft: Draft) -> Option<Format> {
        Some(match name {
            "date-time" => Format::DateTime,
            "email" => Format::Email,
            "hostname" => Format::Hostname,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "uri" => Format::Uri,
            "date" => Format::Date,
            "time" => Format::Time,
            "regex" => Format::Regex,
            "uri-reference" if draft >= Draft::D6 => Format::UriReference,
            "uri-template" if draft >= Draft::D6 => Format::UriTemplate,
            "json-pointer" if draft >= Draft::D6 => Format::JsonPointer,
            "iri" if draft >= Draft::D7 => Format::Iri,
            "iri-reference" if draft >= Draft::D7 => Format::IriReference,
            "relative-json-pointer" if draft >= Draft::D7 => Format::RelativeJsonPointer,
            "duration" if draft >= Draft::D2019 => Format::Duration,
            "uuid" if draft >= Draft::D2019 => Format::Uuid,
            _ => return None,
        })
    }

    /// The format's name, as a schema spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Date => "date",
            Format::DateTime => "date-time",
            Format::Time => "time",
            Format::Duration => "duration",
            Format::Email => "email",
            Format::Hostname => "hostname",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Uri => "uri",
            Format::UriReference => "uri-reference",
            Format::Iri => "iri",
            Format::IriReference => "iri-reference",
            Format::UriTemplate => "uri-template",
            Format::JsonPointer => "json-pointer",
            Format::RelativeJsonPointer => "relative-json-pointer",
            Format::Regex => "regex",
            Format::Uuid => "uuid",
        }
    }

    /// Whether `s` is a valid value of the format.
    pub(crate) fn is_valid(self, s: &str) -> bool {
        match self {
            Format::Date => is_date(s),
            Format::DateTime => is_date_time(s),
            Format::Time => is_time(s),
            Format::Duration => is_duration(s),
            Format::Email => is_email(s),
            Format::Hostname => is_hostname(s),
            Format::Ipv4 => is_ipv4(s),
            Format::Ipv6 => is_ipv6(s),
            Format::Uri => is_uri(s, false, true),
            Format::UriReference => is_uri(s, false, false),
            Format::Iri => is_uri(s, true, true),
            Format::IriReference => is_uri(s, true, false),
            Format::UriTemplate => is_uri_template(s),
            Format::JsonPointer => is_json_pointer(s),
            Format::RelativeJsonPointer => is_relative_json_pointer(s),
            Format::Regex => compile_pattern(s).is_ok(),
            Format::Uuid => is_uuid(s),
        }
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// RFC 3339 `full-date`: `YYYY-MM-DD`, a real calendar day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&s[..4], 4), digits(&s[5..7], 2), digits(&s[8..], 2))
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339 `full-time`: `HH:MM:SS[.frac](Z|±HH:MM)`; a leap second only at
/// 23:59:60 UTC.
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) =
        (digits(&s[..2], 2), digits(&s[3..5], 2), digits(&s[6..8], 2))
    else {
        return false;
    };
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let offset_minutes: i64 = if rest == "Z" || rest == "z" {
        0
    } else {
        let ob = rest.as_bytes();
        if ob.len() != 6 || !(ob[0] == b'+' || ob[0] == b'-') || ob[3] != b':' {
            return false;
        }
        let (Some(oh), Some(om)) = (digits(&rest[1..3], 2), digits(&rest[4..], 2)) else {
            return false;
        };
        if oh > 23 || om > 59 {
            return false;
        }
        let v = i64::from(oh * 60 + om);
        if ob[0] == b'-' {
            -v
        } else {
            v
        }
    };
    if h > 23 || m > 59 || sec > 60 {
        return false;
    }
    if sec == 60 {
        // A leap second is 23:59:60 in UTC.
        let utc = (i64::from(h * 60 + m) - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

fn is_date_time(s: &str) -> bool {
    match s.find(['T', 't']) {
        Some(10) => is_date(&s[..10]) && is_time(&s[11..]),
        _ => false,
    }
}

/// ISO 8601 duration as RFC 3339 appendix A gives it: `P` then date and/or
/// time parts in order, or weeks alone.
fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return false;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    fn units(part: &str, order: &[u8]) -> bool {
        let mut pos = 0;
        let b = part.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start || i == b.len() {
                return false;
            }
            let Some(p) = order[pos..].iter().position(|&u| u == b[i]) else {
                return false;
            };
            pos += p + 1;
            i += 1;
        }
        true
    }
    if date.ends_with('W') {
        return time.is_none() && units(date, b"W");
    }
    units(date, b"YMD") && time.is_none_or(|t| units(t, b"HMS"))
}

/// An e-mail address: a dot-atom or quoted local part, `@`, and a hostname or
/// an address literal (`[192.0.2.1]`, `[IPv6:...]`). RFC 5321 lengths.
fn is_email(s: &str) -> bool {
    let Some(at) = s.rfind('@') else { return false };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.is_empty() || s.len() > 254 {
        return false;
    }
    let local_ok = if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        let mut escaped = false;
        inner.chars().all(|c| {
            if escaped {
                escaped = false;
                return (' '..='~').contains(&c);
            }
            if c == '\\' {
                escaped = true;
                return true;
            }
            c != '"' && (c == ' ' || c == '\t' || ('!'..='~').contains(&c) || !c.is_ascii())
        }) && !escaped
    } else {
        !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
            })
    };
    if !local_ok {
        return false;
    }
    if let Some(lit) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return match lit.strip_prefix("IPv6:") {
            Some(v6) => is_ipv6(v6),
            None => is_ipv4(lit),
        };
    }
    is_hostname(domain)
}

/// RFC 1123 hostname: dot-separated labels of letters, digits and inner
/// hyphens, each 1 to 63 characters, 253 in all (a final dot allowed).
fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    s.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            // RFC 5891: "--" in the third and fourth positions is reserved for A-labels ("xn--").
            && !(b.len() >= 4 && &b[2..4] == b"--" && !label.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("xn")))
    })
}

/// Dotted quad, no leading zeros.
fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// RFC 4291 text form: eight groups of up to four hex digits, one `::` for a
/// run of zero groups, optionally ending in a dotted quad. No zone index.
fn is_ipv6(s: &str) -> bool {
    if s.is_empty() || s.len() > 45 {
        return false;
    }
    let (head, tail, compressed) = match s.split_once("::") {
        Some((h, t)) => {
            if t.contains("::") {
                return false;
            }
            (h, t, true)
        }
        None => (s, "", false),
    };
    let mut groups = 0usize;
    let mut parse_side = |side: &str, last_may_be_v4: bool| -> bool {
        if side.is_empty() {
            return true;
        }
        let parts: Vec<&str> = side.split(':').collect();
        for (i, p) in parts.iter().enumerate() {
            if last_may_be_v4 && i == parts.len() - 1 && p.contains('.') {
                if !is_ipv4(p) {
                    return false;
                }
                groups += 2;
            } else {
                if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return false;
                }
                groups += 1;
            }
        }
        true
    };
    if compressed {
        if !parse_side(head, false) || !parse_side(tail, true) {
            return false;
        }
        groups < 8
    } else {
        parse_side(head, true) && groups == 8
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Characters allowed unescaped in the URI parts checked here (RFC 3986
/// unreserved, sub-delims, `:` and `@`), plus non-ASCII for IRIs (RFC 3987).
fn uri_char_ok(c: char, iri: bool, extra: &str) -> bool {
    c.is_ascii_alphanumeric()
        || "-._~!$&'()*+,;=:@".contains(c)
        || extra.contains(c)
        || (iri && !c.is_ascii() && !c.is_control())
}

/// Percent escapes are `%` and two hex digits; every other character must be allowed.
fn part_ok(part: &str, iri: bool, extra: &str) -> bool {
    let b = part.as_bytes();
    let mut skip_until = 0;
    for (idx, c) in part.char_indices() {
        if idx < skip_until {
            continue;
        }
        if c == '%' {
            if b.len() < idx + 3 || !is_hex(b[idx + 1]) || !is_hex(b[idx + 2]) {
                return false;
            }
            skip_until = idx + 3;
        } else if !uri_char_ok(c, iri, extra) {
            return false;
        }
    }
    true
}

/// RFC 3986 URI (`absolute` true) or URI-reference; with `iri`, RFC 3987.
fn is_uri(s: &str, iri: bool, absolute: bool) -> bool {
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    if s.contains('#') && !part_ok(fragment, iri, "/?") {
        return false;
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !part_ok(query, iri, "/?") {
        return false;
    }
    // Scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
    let scheme_end = rest.find(':').filter(|&i| {
        let sch = &rest[..i];
        !sch.is_empty()
            && sch.as_bytes()[0].is_ascii_alphabetic()
            && sch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
            && !rest[..i].contains('/')
    });
    let hier = match scheme_end {
        Some(i) => &rest[i + 1..],
        None if absolute => return false,
        None => {
            // A relative reference: its first segment may not contain ':'.
            let first = rest.split('/').next().unwrap_or("");
            if !rest.starts_with("//") && first.contains(':') {
                return false;
            }
            rest
        }
    };
    if let Some(after) = hier.strip_prefix("//") {
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        if !authority_ok(authority, iri) {
            return false;
        }
        return part_ok(path, iri, "/");
    }
    part_ok(hier, iri, "/")
}

fn authority_ok(authority: &str, iri: bool) -> bool {
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| !part_ok(u, iri, "") || u.contains('@')) {
        return false;
    }
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        let Some(end) = after.find(']') else {
            return false;
        };
        let literal = &after[..end];
        if !(is_ipv6(literal) || (literal.starts_with(['v', 'V']) && literal.contains('.'))) {
            return false;
        }
        (
            None,
            after[end + 1..]
                .strip_prefix(':')
                .or(if after[end + 1..].is_empty() {
                    None
                } else {
                    Some("x")
                }),
        )
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(hostport), None),
        }
    };
    if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    host.is_none_or(|h| part_ok(h, iri, "") && !h.contains([':', '@']))
}

/// RFC 6570 URI Template: literals and balanced `{...}` expressions.
fn is_uri_template(s: &str) -> bool {
    let mut in_expr = false;
    let mut expr = String::new();
    for c in s.chars() {
        match (in_expr, c) {
            (false, '{') => {
                in_expr = true;
                expr.clear();
            }
            (false, '}') => return false,
            (false, c) => {
                if c.is_control() || c == ' ' || "\"'<>\\^`|".contains(c) {
                    return false;
                }
            }
            (true, '}') => {
                let body = expr
                    .strip_prefix(['+', '#', '.', '/', ';', '?', '&', '=', ',', '!', '@', '|'])
                    .unwrap_or(&expr);
                if body.is_empty()
                    || !body.split(',').all(|v| {
                        let name = v.strip_suffix('*').unwrap_or(v);
                        let name = match name.split_once(':') {
                            Some((n, len)) => {
                                if len.is_empty()
                                    || len.len() > 4
                                    || !len.bytes().all(|b| b.is_ascii_digit())
                                    || len.starts_with('0')
                                {
                                    return false;
                                }
                                n
                            }
                            None => name,
                        };
                        !name.is_empty()
                            && name.split('.').all(|p| {
                                !p.is_empty()
                                    && part_ok(p, false, "")
                                    && p.chars()
                                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '%')
                            })
                    })
                {
                    return false;
                }
                in_expr = false;
            }
            (true, '{') => return false,
            (true, c) => expr.push(c),
        }
    }
    !in_expr
}

/// RFC 6901: empty, or `/`-prefixed tokens where `~` is followed by 0 or 1.
fn is_json_pointer(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    if !s.starts_with('/') {
        return false;
    }
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, &c)| c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// A non-negative integer (no leading zero), then `#` or a JSON Pointer.
fn is_relative_json_pointer(s: &str) -> bool {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (n > 1 && s.starts_with('0')) {
        return false;
    }
    let rest = &s[n..];
    rest == "#" || is_json_pointer(rest)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                is_hex(c)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_accept_and_refuse() {
        let cases: &[(Format, &[&str], &[&str])] = &[
            (
                Format::Date,
                &["2024-02-29", "2023-12-31"],
                &["2023-02-29", "2023-13-01", "2023-1-01", "tomorrow"],
            ),
            (
                Format::DateTime,
                &[
                    "2026-03-02T09:30:00Z",
                    "2026-03-02t09:30:00.5+01:00",
                    "1990-12-31T15:59:60-08:00",
                ],
                &[
                    "2026-03-02T09:30:00",
                    "2026-03-02 09:30:00Z",
                    "2026-03-02T24:00:00Z",
                    "2026-03-02T09:30:60Z",
                ],
            ),
            (
                Format::Time,
                &["23:59:60Z", "08:30:06.283185Z"],
                &["8:30:00Z", "08:30:00", "08:30:00+24:00"],
            ),
            (
                Format::Duration,
                &["P1D", "PT1H30M", "P1Y2M3DT4H5M6S", "P4W"],
                &["P", "PT", "P1H", "P1DT", "P1W2D", "1D"],
            ),
            (
                Format::Email,
                &[
                    "ana@example.com",
                    "a.b+c@sub.example.org",
                    "\"a b\"@example.com",
                    "x@[127.0.0.1]",
                ],
                &["not an address", "a@", "@b", "a..b@example.com", "a@-x.com"],
            ),
            (
                Format::Hostname,
                &["example.com", "a-b.c", "xn--bcher-kva.example"],
                &["-a.com", "a..b", "a_b.com", &"a".repeat(64)],
            ),
            (
                Format::Ipv4,
                &["192.168.0.1", "0.0.0.0"],
                &["256.1.1.1", "01.1.1.1", "1.1.1", "1.1.1.1.1"],
            ),
            (
                Format::Ipv6,
                &[
                    "::1",
                    "2001:db8::8a2e:370:7334",
                    "::ffff:192.0.2.1",
                    "1:2:3:4:5:6:7:8",
                ],
                &[
                    "1:2:3:4:5:6:7:8:9",
                    "1::2::3",
                    "12345::",
                    ":",
                    "fe80::1%eth0",
                ],
            ),
            (
                Format::Uri,
                &[
                    "https://example.com/a?b=c#d",
                    "urn:isbn:0451450523",
                    "mailto:a@b.c",
                    "http://[::1]:80/",
                ],
                &[
                    "/relative",
                    "example.com",
                    "http://exa mple.com",
                    "https://example.com/%zz",
                ],
            ),
            (
                Format::UriReference,
                &["/relative", "a/b", "#frag", "", "https://x.y"],
                &["a b", ":x", "%g0"],
            ),
            (Format::Iri, &["https://例え.jp/パス"], &["/x"]),
            (
                Format::UriTemplate,
                &["http://example.com/{id}", "/users{/id*}{?q,lang}", "plain"],
                &["{unclosed", "a}b", "{}"],
            ),
            (
                Format::JsonPointer,
                &["", "/a/b~0c~1d", "/"],
                &["a", "/a~2"],
            ),
            (
                Format::RelativeJsonPointer,
                &["0", "1/a", "2#"],
                &["", "01", "/a", "-1"],
            ),
            (Format::Regex, &["^[a-z]+$", "a|b"], &["([a-z]", "(?=x)"]),
            (
                Format::Uuid,
                &["0b4c9e5e-4a39-4c1c-9f55-2d0f1d7b3a61"],
                &[
                    "1234",
                    "0b4c9e5e4a394c1c9f552d0f1d7b3a61",
                    "0b4c9e5e-4a39-4c1c-9f55-2d0f1d7b3a6g",
                ],
            ),
        ];
        for (format, good, bad) in cases {
            for s in *good {
                assert!(format.is_valid(s), "{} should accept {s:?}", format.name());
            }
            for s in *bad {
                assert!(!format.is_valid(s), "{} should refuse {s:?}", format.name());
            }
        }
    }

    #[test]
    fn formats_follow_the_drafts() {
        assert_eq!(Format::for_draft("uuid", Draft::D7), None);
        assert_eq!(Format::for_draft("uuid", Draft::D2020), Some(Format::Uuid));
        assert_eq!(
            Format::for_draft("duration", Draft::D2019),
            Some(Format::Duration)
        );
        assert_eq!(Format::for_draft("iri", Draft::D6), None);
        assert_eq!(Format::for_draft("idn-email", Draft::D2020), None);
        assert_eq!(Format::for_draft("x-internal-code", Draft::D2020), None);
    }
}
