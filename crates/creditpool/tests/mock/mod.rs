//! A tiny scripted HTTP/1.1 server on loopback, for the driver's tests: each
//! request takes the next scripted reply and is recorded.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A whole body with a status and extra headers.
    Body { status: u16, headers: Vec<(String, String)>, body: String },
    /// An SSE stream: these chunks, then close (`stall`: keep the connection
    /// open and silent instead).
    Stream { chunks: Vec<String>, stall: bool },
    /// An SSE stream: these chunks, then a TCP reset.
    Reset { chunks: Vec<String> },
    /// No answer at all: the connection stays open and silent.
    Silent,
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Mock {
    pub url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    pub requested: Arc<Notify>,
}

impl Mock {
    pub async fn start(replies: Vec<Reply>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let requested = Arc::new(Notify::new());
        let (r, rec, n) = (Arc::clone(&replies), Arc::clone(&recorded), Arc::clone(&requested));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (r, rec, n) = (Arc::clone(&r), Arc::clone(&rec), Arc::clone(&n));
                tokio::spawn(async move { serve(socket, r, rec, n).await });
            }
        });
        Mock { url, replies, recorded, requested }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    pub fn remaining(&self) -> usize {
        self.replies.lock().unwrap().len()
    }
}

async fn serve(mut socket: TcpStream, replies: Arc<Mutex<VecDeque<Reply>>>, recorded: Arc<Mutex<Vec<Recorded>>>, requested: Arc<Notify>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next().unwrap_or_default().split(' ').nth(1).unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..head_end + len].to_vec();
    recorded.lock().unwrap().push(Recorded { path, headers, body });
    requested.notify_one();
    let reply = replies.lock().unwrap().pop_front().unwrap_or(Reply::Body {
        status: 500,
        headers: vec![("x-should-retry".into(), "false".into())],
        body: error_body("api_error", "the mock has no reply left"),
    });
    match reply {
        Reply::Body { status, headers, body } => {
            let mut out = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = socket.write_all(out.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
        Reply::Stream { chunks, stall } => {
            if !write_stream(&mut socket, chunks).await {
                return;
            }
            if stall {
                // Silent until the client gives up and closes.
                let _ = socket.read(&mut chunk).await;
                return;
            }
            let _ = socket.shutdown().await;
        }
        Reply::Reset { chunks } => {
            if !write_stream(&mut socket, chunks).await {
                return;
            }
            // Let the client read what was sent, then reset the connection
            // (SO_LINGER 0: the close sends RST).
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            #[allow(deprecated)]
            let _ = socket.set_linger(Some(std::time::Duration::ZERO));
            drop(socket);
        }
        Reply::Silent => {
            let _ = socket.read(&mut chunk).await;
        }
    }
}

/// Writes a stream's head and chunks; false if the client went away.
async fn write_stream(socket: &mut TcpStream, chunks: Vec<String>) -> bool {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_stream\r\nconnection: close\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    for c in chunks {
        if socket.write_all(c.as_bytes()).await.is_err() {
            return false;
        }
        let _ = socket.flush().await;
    }
    true
}

pub fn error_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_err"}).to_string()
}

pub fn message(id: &str, content: Value, stop: &str, input: u64, output: u64) -> String {
    json!({"id": id, "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": content,
           "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": output}})
    .to_string()
}

pub fn ok(body: String, request_id: &str) -> Reply {
    Reply::Body { status: 200, headers: vec![("request-id".into(), request_id.into())], body }
}

pub fn text_reply(text: &str, request_id: &str) -> Reply {
    ok(message("msg_t", json!([{"type": "text", "text": text}]), "end_turn", 20, 5), request_id)
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The SSE events of a text message, one string per event.
pub fn text_stream(text: &str) -> Vec<String> {
    vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant",
            "model": "claude-haiku-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})),
        event("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 7}})),
        event("message_stop", json!({"type": "message_stop"})),
    ]
}
