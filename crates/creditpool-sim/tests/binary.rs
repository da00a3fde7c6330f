//! The built `creditpool-sim` binary: its first stdout line, and how it stops
//! (stdin end of file, SIGTERM), as the Python and JS suites use it.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_creditpool-sim");

/// Starts the binary and reads its first line; returns the child and the address.
fn spawn(args: &[&str], stdin: Stdio) -> (Child, SocketAddr, String) {
    let mut child = Command::new(BIN).args(args).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim_end().strip_prefix("listening on http://127.0.0.1:").unwrap_or_else(|| panic!("first line: {line:?}")).parse().unwrap();
    (child, SocketAddr::from(([127, 0, 0, 1], port)), line)
}

/// Waits for the child to exit; a guard against hanging, not a timing check.
fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the simulator did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn first_line_then_stops_when_stdin_closes() {
    let (mut child, addr, line) = spawn(&["--port", "0"], Stdio::piped());
    assert!(line.ends_with('\n'));
    assert_ne!(addr.port(), 0);
    let r = messages(addr, &body("hello"));
    assert_eq!(r.status, 200);
    assert_eq!(child.try_wait().unwrap(), None);
    drop(child.stdin.take());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.is_empty(), "{stderr}");
}

#[cfg(unix)]
#[test]
fn stops_on_sigterm_and_ignores_a_null_stdin() {
    let (mut child, addr, _) = spawn(&[], Stdio::null());
    // With stdin at /dev/null the simulator keeps serving.
    assert_eq!(messages(addr, &body("hello")).status, 200);
    assert_eq!(child.try_wait().unwrap(), None);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(wait_exit(&mut child).success());
}

#[test]
fn the_command_line_options_take_effect() {
    let dir = std::env::temp_dir().join(format!("creditpool-sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("scenario.json");
    std::fs::write(&scenario, r#"{"steps": [{"error": {"status": 429, "retry_after": 1}}]}"#).unwrap();
    let log = dir.join("usage.jsonl");
    let _ = std::fs::remove_file(&log);
    let (mut child, addr, _) = spawn(
        &["--scenario", scenario.to_str().unwrap(), "--keys", &format!("other,{KEY}"), "--usage-log", log.to_str().unwrap(), "--seed", "1", "--fault-rate", "0"],
        Stdio::piped(),
    );
    let first = messages(addr, &body("hello"));
    assert_eq!((first.status, first.header("retry-after")), (429, Some("1")));
    assert_eq!(messages(addr, &body("hello")).status, 200);
    let wrong = request(addr, "POST", "/v1/messages", &[("x-api-key", "nope"), ("anthropic-version", "2023-06-01")], body("x").to_string().as_bytes());
    assert_eq!(wrong.status, 401);
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stalled_stream_does_not_keep_it_from_stopping() {
    let dir = std::env::temp_dir().join(format!("creditpool-sim-stall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("stall.json");
    std::fs::write(&scenario, r#"{"steps": [{"event_delay_ms": 600000}]}"#).unwrap();
    let (mut child, addr, _) = spawn(&["--scenario", scenario.to_str().unwrap()], Stdio::piped());
    // Read the stream on a raw socket until the first event has arrived.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let b = streaming(body("hello")).to_string();
    let head = format!("POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\ncontent-length: {}\r\n\r\n{b}", b.len());
    std::io::Write::write_all(&mut s, head.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("message_start") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the first event");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
    // The stream ended without message_stop.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    seen.extend_from_slice(&rest);
    assert!(!String::from_utf8_lossy(&seen).contains("message_stop"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let out = Command::new(BIN).args(["--fault-rate", "3"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fault-rate"));
    let missing = Command::new(BIN).args(["--scenario", "/nonexistent/scenario.json"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--usage-log"));
}
