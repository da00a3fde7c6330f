//! The simulator's own record of the usage it reported, so that tests can
//! check a ledger against it: kept in memory (`GET /_sim/usage`) and, with
//! `--usage-log FILE`, appended to FILE as JSON Lines, flushed line by line.

use creditpool_core::api::Usage;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// How a response that started with HTTP 200 ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The whole message was sent (JSON body, or a stream through `message_stop`).
    Complete,
    /// The connection was closed mid-body (a scripted cut or an injected fault).
    Cut,
    /// The stream ended with an `error` event.
    StreamError,
    /// The client went away (closed the connection, timed out, cancelled)
    /// before the body was sent.
    Abandoned,
}

/// One line of the usage log: a `/v1/messages` response with HTTP 200.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageEntry {
    /// The response's `request-id`.
    pub request_id: String,
    /// The message's `model`.
    pub model: String,
    /// Whether the response was streamed.
    pub stream: bool,
    /// The usage of the complete message (what `message_delta` or the JSON body
    /// reports, or would have reported had the response not been cut).
    pub usage: Usage,
    /// What the response billed: `usage` when it completed; when it was cut,
    /// failed with an `error` event or abandoned, the input and the output
    /// tokens generated before it ended (see `docs/SIMULATOR.md`). A JSON body
    /// is generated whole before it is sent, so it bills `usage` even if cut.
    pub billed: Usage,
    /// The value of the pool selector field, if the request had one.
    pub credit_pool: Option<Value>,
    /// The request's `metadata.user_id`, if any.
    pub user_id: Option<String>,
    /// The HTTP status (always 200 here: errors report no usage).
    pub status: u16,
    /// How the response ended.
    pub outcome: Outcome,
    /// The request body's size in bytes (the cap on input tokens).
    pub body_bytes: u64,
    /// The request's `max_tokens` (the cap on output tokens).
    pub max_tokens: u32,
    /// The response's message `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `"create"` or `"continue"` for a request on a message thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// For a thread continue: the bytes of the whole conversation as one
    /// request body, the cap on its input tokens (the API bills the whole
    /// thread as input; `body_bytes` is only the new messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_bytes: Option<u64>,
}

/// The log: every entry in memory, and optionally a file.
#[derive(Debug, Default)]
pub struct UsageLog {
    entries: Vec<UsageEntry>,
    file: Option<File>,
}

impl UsageLog {
    /// A log that also appends to `path` (created if missing).
    pub fn with_file(path: &Path) -> io::Result<UsageLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(UsageLog { entries: Vec::new(), file: Some(file) })
    }

    /// Records an entry; the file line is flushed before this returns.
    pub fn append(&mut self, entry: UsageEntry) -> io::Result<()> {
        let written = self.append_to_file(&entry);
        self.entries.push(entry);
        written
    }

    /// The entries so far, oldest first.
    pub fn entries(&self) -> &[UsageEntry] {
        &self.entries
    }

    /// Appends `entry` to the file only (if there is one), not to the entries
    /// `GET /_sim/usage` lists.
    pub fn append_to_file(&mut self, entry: &UsageEntry) -> io::Result<()> {
        match &mut self.file {
            Some(file) => {
                let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
                line.push(b'\n');
                file.write_all(&line).and_then(|()| file.flush())
            }
            None => Ok(()),
        }
    }

    /// Forgets the entries in memory (the file keeps its lines).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_as_json() {
        let dir = std::env::temp_dir().join(format!("creditpool-sim-usage-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let mut log = UsageLog::with_file(&dir).unwrap();
        let entry = UsageEntry {
            request_id: "req_sim_000001".into(),
            model: "m".into(),
            stream: false,
            usage: Usage { input_tokens: 3, output_tokens: 4, ..Usage::default() },
            billed: Usage { input_tokens: 3, output_tokens: 2, ..Usage::default() },
            credit_pool: Some(Value::from("programmatic")),
            user_id: None,
            status: 200,
            outcome: Outcome::Abandoned,
            body_bytes: 100,
            max_tokens: 10,
            message_id: None,
            thread: None,
            thread_bytes: None,
        };
        log.append(entry.clone()).unwrap();
        log.append(entry.clone()).unwrap();
        let text = std::fs::read_to_string(&dir).unwrap();
        let lines: Vec<UsageEntry> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines, vec![entry.clone(), entry]);
        assert!(text.contains(r#""outcome":"abandoned""#) && text.contains(r#""billed":{"input_tokens":3,"output_tokens":2"#), "{text}");
        assert_eq!(log.entries().len(), 2);
        log.clear();
        assert!(log.entries().is_empty());
        let _ = std::fs::remove_file(&dir);
    }
}
