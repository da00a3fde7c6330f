//! Writes the seed corpora, `fuzz/corpus/<target>/seed-*`, from the
//! repository's test vectors (`tests/vectors/`), with each target's header
//! bytes in front (see the targets' documentation). Old `seed-*` files are
//! replaced; other files (what libFuzzer adds) are left alone.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make_corpus [-- FIXTURES_DIR]
//! ```
//!
//! `FIXTURES_DIR`, optional, is a directory of raw `.sse` recordings to add to
//! the `sse_decoder` and `message_stream` seeds.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use creditpool_core::pool::{Pool, PoolConfig, PoolOp};
use serde_json::Value;

/// The 32 MiB default cap, in the header's encoding.
const DEFAULT_CAP: u8 = 0xFF;

struct Out {
    dir: PathBuf,
    n: usize,
}

impl Out {
    fn new(root: &Path, target: &str) -> Out {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        for entry in fs::read_dir(&dir).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-")) {
                fs::remove_file(&path).expect("remove old seed");
            }
        }
        Out { dir, n: 0 }
    }

    fn write(&mut self, name: &str, bytes: &[u8]) {
        let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(60).collect();
        self.n += 1;
        fs::write(self.dir.join(format!("seed-{:03}-{clean}", self.n)), bytes).expect("write seed");
    }
}

fn load(vectors: &Path, file: &str) -> Vec<Value> {
    let text = fs::read_to_string(vectors.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    v["cases"].as_array().cloned().unwrap_or_default()
}

fn name(case: &Value) -> String {
    case["name"].as_str().unwrap_or("case").to_owned()
}

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn with_header(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = header.to_vec();
    v.extend_from_slice(body);
    v
}

fn sse(vectors: &Path, root: &Path, fixtures: Option<&Path>) {
    let mut dec = Out::new(root, "sse_decoder");
    for (i, case) in load(vectors, "sse/decode.json").iter().enumerate() {
        let input = &case["input"];
        let mut bytes = Vec::new();
        for c in input["chunks"].as_array().into_iter().flatten() {
            bytes.extend_from_slice(c.as_str().unwrap_or_default().as_bytes());
        }
        for c in input["chunks_b64"].as_array().into_iter().flatten() {
            bytes.extend(b64(c.as_str().unwrap_or_default()));
        }
        let cap = input["limit"].as_u64().map_or(DEFAULT_CAP, |l| u8::try_from(l.min(0x7F)).unwrap_or(0x7F));
        // Alternate whole-stream and chunked feeding.
        let split = if i % 2 == 0 { 0 } else { 3 };
        dec.write(&name(case), &with_header(&[cap, split], &bytes));
    }
    let mut stream = Out::new(root, "message_stream");
    for file in ["sse/sdk_fixtures.json", "sse/sdk_synthetic.json"] {
        for (i, case) in load(vectors, file).iter().enumerate() {
            let body = case["input"]["sse"].as_str().unwrap_or_default().as_bytes();
            let split = if i % 3 == 0 { 0 } else { 17 };
            stream.write(&name(case), &with_header(&[DEFAULT_CAP, split], body));
            if i % 8 == 0 {
                dec.write(&name(case), &with_header(&[0x40, 0x09], body));
            }
        }
    }
    if let Some(dir) = fixtures {
        let mut files: Vec<PathBuf> = fs::read_dir(dir).expect("fixtures dir").filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "sse")) {
            let body = fs::read(&path).expect("read fixture");
            let stem = format!("fixture-{}", path.file_stem().and_then(|s| s.to_str()).unwrap_or("sse"));
            stream.write(&stem, &with_header(&[DEFAULT_CAP, 0x21], &body));
            dec.write(&stem, &with_header(&[DEFAULT_CAP, 0x05], &body));
        }
    }
}

/// Header names in the order of `NAMES` in `fuzz_targets/parse_response.rs`.
const HEADER_NAMES: &[&str] = &[
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "content-type",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
];

fn responses(vectors: &Path, root: &Path) {
    let mut out = Out::new(root, "parse_response");
    let mut seed = |name: &str, status: u16, max_body: u8, headers: &[(String, String)], body: &[u8]| {
        let mut v = status.to_be_bytes().to_vec();
        v.push(max_body);
        v.push(200); // excerpt_chars
        v.extend_from_slice(&1_795_570_181_123u64.to_be_bytes()); // now_ms
        let known: Vec<(u8, &str)> = headers
            .iter()
            .filter_map(|(n, val)| HEADER_NAMES.iter().position(|h| h.eq_ignore_ascii_case(n)).map(|i| (i as u8, val.as_str())))
            .filter(|(_, val)| val.len() < 256)
            .take(7)
            .collect();
        v.push(known.len() as u8);
        for (i, val) in known {
            v.push(i);
            v.push(val.len() as u8);
            v.extend_from_slice(val.as_bytes());
        }
        v.extend_from_slice(body);
        out.write(name, &v);
    };
    for case in load(vectors, "response/parse_response.json") {
        let input = &case["input"];
        let status = input["status"].as_u64().unwrap_or(200) as u16;
        let headers: Vec<(String, String)> = input["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
            .collect();
        let max_body = input["max_body_bytes"].as_u64().map_or(0xFF, |m| u8::try_from(m.min(0x7F)).unwrap_or(0x7F));
        seed(&name(&case), status, max_body, &headers, input["body"].as_str().unwrap_or_default().as_bytes());
    }
    for case in load(vectors, "response/rate_limit_headers.json") {
        let headers: Vec<(String, String)> = case["input"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
            .collect();
        if !headers.is_empty() {
            seed(&format!("ratelimit-{}", name(&case)), 429, 0xFF, &headers, b"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}");
        }
    }
}

fn partial_json(vectors: &Path, root: &Path) {
    let mut out = Out::new(root, "partial_json");
    let cases = load(vectors, "partial_json/jiter.json");
    let mut seen = BTreeSet::new();
    let texts: Vec<(String, String)> = cases
        .iter()
        .filter_map(|c| Some((name(c), c["input"]["text"].as_str()?.to_owned())))
        .filter(|(_, t)| seen.insert(t.clone()))
        .collect();
    // Every whole document (the longest text of each family) and a spread of
    // the rest: about 80 seeds.
    let step = (texts.len() / 60).max(1);
    for (i, (n, t)) in texts.iter().enumerate() {
        let longest_of_family = texts.get(i + 1).is_none_or(|(_, next)| !next.starts_with(t.as_str()));
        if longest_of_family || i % step == 0 {
            out.write(n, t.as_bytes());
        }
    }
}

/// Runs every pool scenario: snapshots (midway and at the end) and ledgers.
fn pools(vectors: &Path, root: &Path) {
    let mut snaps = Out::new(root, "snapshot_restore");
    let mut ledgers = Out::new(root, "ledger_lines");
    for file in ["pool/agents.json", "pool/alerts.json", "pool/attribution.json", "pool/config.json", "pool/cycles.json", "pool/reservations.json", "pool/snapshot.json"] {
        for (k, case) in load(vectors, file).iter().enumerate() {
            let input = &case["input"];
            let Ok(config) = serde_json::from_value::<PoolConfig>(input["config"].clone()) else { continue };
            let Ok(ops) = serde_json::from_value::<Vec<PoolOp>>(input["ops"].clone()) else { continue };
            let created = input["created_at_ms"].as_u64().unwrap_or(0);
            let Ok(mut pool) = Pool::new(config, created) else { continue };
            let mut lines = String::new();
            let half = ops.len() / 2;
            for (i, op) in ops.iter().enumerate() {
                let _ = pool.apply(op);
                while pool.poll_event().is_some() {}
                if i + 1 == half && k % 2 == 0 {
                    // Midway, with its alerts and ledger entries still pending.
                    snaps.write(&format!("{}-midway", name(case)), pool.snapshot_json().as_bytes());
                }
                while let Some(e) = pool.poll_ledger() {
                    lines.push_str(&e.to_json_line());
                }
            }
            let snap = pool.snapshot_json();
            snaps.write(&name(case), snap.as_bytes());
            if k % 3 == 0 {
                // The same snapshot with operations after a NUL.
                let mut v = snap.into_bytes();
                v.push(0);
                v.extend_from_slice(&[0, 1, 0, 1, 0x20, 0, 2, 0, 1, 0x10, 0, 1, 7, 0, 0, 8, 0, 9, 7, 2, 0, 0, 0, 1]);
                snaps.write(&format!("{}-ops", name(case)), &v);
            }
            if !lines.is_empty() {
                ledgers.write(&name(case), lines.as_bytes());
            }
        }
    }
    for case in load(vectors, "activity/activity_chart.json") {
        let lines: String = case["input"]["ledger"].as_array().into_iter().flatten().map(|e| format!("{e}\n")).collect();
        if !lines.is_empty() {
            ledgers.write(&format!("activity-{}", name(&case)), lines.as_bytes());
        }
    }
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors = fuzz.join("../tests/vectors");
    let root = fuzz.join("corpus");
    let fixtures = std::env::args().nth(1).map(PathBuf::from);
    sse(&vectors, &root, fixtures.as_deref());
    responses(&vectors, &root);
    partial_json(&vectors, &root);
    pools(&vectors, &root);
    for entry in fs::read_dir(&root).expect("corpus root") {
        let dir = entry.expect("entry").path();
        let n = fs::read_dir(&dir).map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("seed-"))).count()).unwrap_or(0);
        println!("{}: {n} seeds", dir.display());
    }
}
