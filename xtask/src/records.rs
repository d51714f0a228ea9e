//! `cargo xtask records decode FILE`: decodes a Lambda event for a DynamoDB
//! stream (or a GetRecords response) and prints one JSON line per record:
//! the event name, keys, sequence number and images, numbers as their exact
//! text, or the record's error.
//!
//! Exit status: 0 when every record decoded, 1 when any record failed, 2 when
//! the file cannot be read or is not an event at all.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

/// Options of `cargo xtask records`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a Lambda event or GetRecords response: one JSON line per record
    Decode {
        /// The JSON file to decode
        file: PathBuf,
    },
}

pub(crate) fn run(args: &Args) -> ExitCode {
    match &args.command {
        Command::Decode { file } => decode(file),
    }
}

fn decode(file: &PathBuf) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let records = match streamgate_records::decode_event_items(&bytes) {
        Ok(records) => records,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let failed = records.iter().filter(|r| r.is_err()).count();
    // A reader that stops early (`| head`) closes the pipe: stop writing
    // then, rather than fail on every line.
    let mut out = std::io::stdout().lock();
    for record in &records {
        let line = match record {
            Ok(event) => event.to_json(),
            Err(e) => e.to_json(),
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    eprintln!(
        "{}: {} records, {} decoded, {failed} failed",
        file.display(),
        records.len(),
        records.len() - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
