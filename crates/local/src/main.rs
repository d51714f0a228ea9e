//! The `streamgate-local` binary: starts the local cloud, prints
//! `ready http://HOST:PORT` as its first line on stdout, and stops cleanly on
//! SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use streamgate_local::{DEFAULT_ACCOUNTS, DEFAULT_PORT, LocalCloud};

/// A local cloud for several AWS accounts: DynamoDB, DynamoDB Streams, IAM,
/// STS, Lambda and SQS with SigV4 and policy enforcement.
#[derive(Debug, Parser)]
#[command(name = "streamgate-local", version)]
struct Arguments {
    /// Port to listen on; 0 picks a free one (announced on stdout).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Address to listen on; loopback unless told otherwise.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Comma-separated 12-digit account ids.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_ACCOUNTS.map(String::from))]
    accounts: Vec<String>,
    /// The region clients are told to use (resources exist in any region).
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Roll a stream shard over after this many records.
    #[arg(long)]
    shard_max_records: Option<u64>,
    /// Wake event source mappings' pollers on every stream write instead of
    /// waiting out the poll interval (lower latency, a little more work).
    #[arg(long)]
    wake_pollers_on_write: bool,
}

// One thread: handlers are short and synchronous, and a single thread spares
// every request the cross-thread wake-ups of a work-stealing runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let mut builder = LocalCloud::builder()
        .accounts(arguments.accounts.clone())
        .address(SocketAddr::new(arguments.bind, arguments.port));
    if let Some(records) = arguments.shard_max_records {
        builder = builder.shard_max_records(records);
    }
    if arguments.wake_pollers_on_write {
        builder = builder.wake_pollers_on_write(true);
    }
    let cloud = builder
        .start()
        .await
        .context("cannot start the local cloud")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready {}", cloud.endpoint_url()).context("cannot write to stdout")?;
    writeln!(
        stdout,
        "region {}; accounts {} (access key id = account id, secret access key streamgate-local)",
        arguments.region,
        arguments.accounts.join(", ")
    )
    .context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    wait_for_stop_signal().await?;
    cloud.stop().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for ctrl-c")
}
