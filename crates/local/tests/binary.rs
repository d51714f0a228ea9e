//! The `streamgate-local` binary: announces its endpoint on the first line
//! of stdout, serves, and stops cleanly on SIGTERM and SIGINT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn run_until_signal(signal: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamgate-local"))
        .args(["--port", "0", "--accounts", "111111111111,222222222222"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let endpoint = first
        .trim_end()
        .strip_prefix("ready http://")
        .unwrap_or_else(|| panic!("first line is not `ready http://HOST:PORT`: {first:?}"))
        .to_owned();
    assert!(endpoint.starts_with("127.0.0.1:"), "{endpoint}");

    // It serves: an unsigned request gets an AWS-shaped error.
    let mut stream = TcpStream::connect(&endpoint).unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: local\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains("MissingAuthenticationTokenException"),
        "{answer}"
    );

    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait()));
    let exit = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("the binary exited within 10 s of the signal")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn announces_serves_and_stops_on_sigterm() {
    run_until_signal("-TERM");
}

#[test]
fn stops_on_sigint() {
    run_until_signal("-INT");
}

#[test]
fn refuses_a_malformed_account_id() {
    let output = Command::new(env!("CARGO_BIN_EXE_streamgate-local"))
        .args(["--port", "0", "--accounts", "12345"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("account id \"12345\" is not 12 digits"),
        "{stderr}"
    );
}
