//! A plain HTTP/1.1 client over `std::net`, enough to see exactly what the
//! simulator sends (including a body cut short), and helpers to start it.
#![allow(dead_code)]

use creditpool_sim::{Config, Running, Scenario};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as read off the wire.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body arrived whole (the final chunk, or all of content-length).
    pub complete: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error.type` of an API error body.
    pub fn error_type(&self) -> String {
        self.json()["error"]["type"].as_str().unwrap_or("").to_owned()
    }
}

/// Sends one request on a fresh connection and reads until the server closes it.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => panic!("read timed out"),
            Err(_) => break, // reset: keep what arrived
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        let (body, complete) = dechunk(rest);
        return Resp { status, headers, body, complete };
    }
    let len = headers.iter().find(|(k, _)| k == "content-length").map(|(_, v)| v.parse::<usize>().unwrap());
    let complete = len.is_none_or(|n| n == rest.len());
    Resp { status, headers, body: rest.to_vec(), complete }
}

fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { return (body, false) };
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            return (body, true);
        }
        if rest.len() < size {
            body.extend_from_slice(rest);
            return (body, false);
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
}

pub const KEY: &str = "sk-test-key";

/// The usual headers of a Messages API call.
pub fn api_headers() -> Vec<(&'static str, &'static str)> {
    vec![("x-api-key", KEY), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]
}

pub fn post(addr: SocketAddr, path: &str, body: &Value) -> Resp {
    request(addr, "POST", path, &api_headers(), body.to_string().as_bytes())
}

pub fn messages(addr: SocketAddr, body: &Value) -> Resp {
    post(addr, "/v1/messages", body)
}

pub fn start() -> Running {
    creditpool_sim::start(Config::default()).expect("start")
}

pub fn start_with(scenario: Value) -> Running {
    let scenario = Scenario::from_json(&scenario.to_string(), "test").expect("scenario");
    creditpool_sim::start(Config { scenario: Some(scenario), ..Config::default() }).expect("start")
}

pub fn search_tool() -> Value {
    json!({"name": "search_database", "description": "Query the product inventory database.",
           "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}})
}

/// A request body with one user prompt.
pub fn body(prompt: &str) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]})
}

pub fn streaming(mut v: Value) -> Value {
    v["stream"] = json!(true);
    v
}

/// The simulator's usage log.
pub fn usage(addr: SocketAddr) -> Vec<Value> {
    let r = request(addr, "GET", "/_sim/usage", &[], b"");
    assert_eq!(r.status, 200);
    r.json().as_array().unwrap().clone()
}
