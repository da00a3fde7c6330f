//! `creditpool-sim`: the simulator's command line (see `cli::HELP`).

use creditpool_sim::cli::{self, Command};
use creditpool_sim::{shutdown, SimError, Simulator};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "creditpool-sim: {e}");
            ExitCode::from(if matches!(e, SimError::Usage { .. }) { 2 } else { 1 })
        }
    }
}

fn run() -> Result<(), SimError> {
    let args = match cli::parse(std::env::args().skip(1))? {
        Command::Help => return say(cli::HELP),
        Command::Version => return say(&format!("creditpool-sim {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Run(args) => args,
    };
    let config = args.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|source| SimError::Server { source })?;
    runtime.block_on(async {
        let sim = Simulator::bind(config).await?;
        // The first line on stdout, exactly: tests in every language read it.
        say(&format!("listening on {}\n", sim.url()))?;
        let watch_stdin = shutdown::stdin_is_watchable();
        sim.serve(async move {
            shutdown::wait(watch_stdin).await;
        })
        .await
    })?;
    // The stdin watcher may still block in read(); leave without waiting for it.
    runtime.shutdown_background();
    Ok(())
}

fn say(text: &str) -> Result<(), SimError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|source| SimError::Server { source })
}
