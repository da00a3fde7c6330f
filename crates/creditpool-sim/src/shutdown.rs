//! When the binary stops: on SIGTERM, on SIGINT (Ctrl-C), or when its stdin
//! reaches end of file, so that a test harness that started it with a pipe
//! stops it by closing the pipe, or by dying.
//!
//! Stdin is watched only when it is a pipe or a socket. When it is `/dev/null`
//! or a regular file (a shell's `creditpool-sim &` in a script, `< file`), end
//! of file says nothing about the parent; when it is a terminal, a background
//! job that reads it would be stopped by SIGTTIN (and Ctrl-C is there anyway).
//! In those cases the simulator runs until a signal.

use std::io::Read;

/// Why the simulator stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
    /// Stdin reached end of file.
    StdinClosed,
}

/// Whether stdin is something whose end of file means "stop": a pipe or a
/// socket, not `/dev/null`, a regular file or a terminal.
pub fn stdin_is_watchable() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let Ok(meta) = std::fs::metadata("/dev/stdin") else { return false };
        let ft = meta.file_type();
        ft.is_fifo() || ft.is_socket()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Resolves when stdin reaches end of file (or fails). Reads on a plain
/// thread, which the process leaves behind when it exits.
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = tx.send(());
    });
    match spawned {
        Ok(_) => {
            let _ = rx.await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}

/// Resolves with the first reason to stop. `watch_stdin` adds the stdin watch.
pub async fn wait(watch_stdin: bool) -> Reason {
    let stdin = async {
        if watch_stdin {
            stdin_closed().await
        } else {
            std::future::pending::<()>().await
        }
    };
    tokio::select! {
        () = terminate() => Reason::Terminate,
        r = tokio::signal::ctrl_c() => match r {
            Ok(()) => Reason::Interrupt,
            Err(_) => std::future::pending::<Reason>().await,
        },
        () = stdin => Reason::StdinClosed,
    }
}
