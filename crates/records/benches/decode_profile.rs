//! The decode bench's decoders (not the plain-JSON reference) as a plain program, for measures that
//! the machine's load disturbs less than criterion's medians:
//! - instructions per batch: run one decoder N times under callgrind and
//!   count only inside one batch (decoding, then freeing what it built),
//!   `valgrind --tool=callgrind --toggle-collect='decode_profile::batch*' BIN ours 5`
//!   (`BIN` is the path `cargo bench -p streamgate-records --bench decode_profile --no-run`
//!   prints; divide the count by N);
//! - the fastest of N interleaved batches of each: `BIN fastest 60`.
//!
//! With no mode it checks that the decoders agree and shows the fastest of
//! 20 batches each under `cargo bench`, of one under `cargo test --all-targets`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

mod support;

use support::{
    floor, generate_event, new_images, ours, ours_borrowed, ours_raw, ours_raw_then_typed, peer,
    plain_borrowed, plain_documents, plain_floor, plain_owned,
};

/// How long one call of `decode` takes.
fn time(decode: impl FnOnce()) -> Duration {
    let start = Instant::now();
    decode();
    start.elapsed()
}

/// One batch decoded by `decode` and everything it built freed: what every
/// measure here times or counts, so that each decoder pays for dropping its
/// own output (callgrind: `--toggle-collect='decode_profile::batch*'`).
#[inline(never)]
fn batch<T>(decode: impl FnOnce() -> T) {
    drop(black_box(decode()));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes its own flags (and criterion's, with their
    // values): only a mode word, and the count right after it, count here.
    const MODES: [&str; 10] = [
        "ours",
        "ours_borrowed",
        "ours_raw",
        "ours_raw_then_typed",
        "peer",
        "floor",
        "plain_owned",
        "plain_borrowed",
        "plain_floor",
        "fastest",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Run as a test (no `--bench`), one round checks that it all works.
    let default_rounds = if args.iter().any(|a| a == "--bench") {
        20
    } else {
        1
    };
    let (mode, rounds) = match args.iter().position(|a| MODES.contains(&a.as_str())) {
        Some(at) => (
            args[at].as_str(),
            args.get(at + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(default_rounds),
        ),
        None => ("fastest", default_rounds),
    };
    let event = generate_event(1000);
    let bytes = event.as_bytes();
    let plain = plain_documents(bytes);
    let plain = plain.as_bytes();
    match mode {
        "ours" => (0..rounds).for_each(|_| batch(|| ours(black_box(bytes)))),
        "ours_borrowed" => (0..rounds).for_each(|_| batch(|| ours_borrowed(black_box(bytes)))),
        "ours_raw" => (0..rounds).for_each(|_| batch(|| ours_raw(black_box(bytes)))),
        "ours_raw_then_typed" => {
            (0..rounds).for_each(|_| batch(|| ours_raw_then_typed(black_box(bytes))))
        }
        "peer" => (0..rounds).for_each(|_| batch(|| peer(black_box(bytes)))),
        "floor" => (0..rounds).for_each(|_| batch(|| floor(black_box(bytes)))),
        "plain_owned" => (0..rounds).for_each(|_| batch(|| plain_owned(black_box(plain)))),
        "plain_borrowed" => (0..rounds).for_each(|_| batch(|| plain_borrowed(black_box(plain)))),
        "plain_floor" => (0..rounds).for_each(|_| batch(|| plain_floor(black_box(plain)))),
        "fastest" => {
            // Checked here only, so that the single-decoder modes run
            // exactly `rounds` batches for callgrind.
            assert_eq!(
                new_images(ours(bytes)),
                peer(bytes),
                "ours and the peer disagree"
            );
            assert_eq!(
                ours_raw_then_typed(bytes),
                peer(bytes),
                "the raw path disagrees"
            );
            assert_eq!(
                plain_owned(plain),
                peer(bytes),
                "the plain reference disagrees"
            );
            let mut best = [Duration::MAX; 9];
            for _ in 0..rounds {
                let times = [
                    time(|| batch(|| ours(black_box(bytes)))),
                    time(|| batch(|| ours_borrowed(black_box(bytes)))),
                    time(|| batch(|| ours_raw(black_box(bytes)))),
                    time(|| batch(|| ours_raw_then_typed(black_box(bytes)))),
                    time(|| batch(|| peer(black_box(bytes)))),
                    time(|| batch(|| floor(black_box(bytes)))),
                    time(|| batch(|| plain_owned(black_box(plain)))),
                    time(|| batch(|| plain_borrowed(black_box(plain)))),
                    time(|| batch(|| plain_floor(black_box(plain)))),
                ];
                for (best, time) in best.iter_mut().zip(times) {
                    *best = (*best).min(time);
                }
            }
            let [
                ours,
                borrowed,
                raw,
                raw_typed,
                peer,
                floor,
                plain_owned,
                plain_borrowed,
                plain_floor,
            ] = best;
            println!(
                "fastest of {rounds}: ours {:.3} ms, ours_borrowed {:.3} ms, ours_raw {:.3} ms, ours_raw_then_typed {:.3} ms, peer {:.3} ms, floor {:.3} ms",
                ms(ours),
                ms(borrowed),
                ms(raw),
                ms(raw_typed),
                ms(peer),
                ms(floor)
            );
            println!(
                "peer / ours_raw_then_typed {:.2}, ours_raw_then_typed / floor {:.2}, ours_raw / floor {:.2}",
                peer.as_secs_f64() / raw_typed.as_secs_f64(),
                raw_typed.as_secs_f64() / floor.as_secs_f64(),
                raw.as_secs_f64() / floor.as_secs_f64()
            );
            println!(
                "peer / ours {:.2}, ours / floor {:.2}, ours_borrowed / floor {:.2}",
                peer.as_secs_f64() / ours.as_secs_f64(),
                ours.as_secs_f64() / floor.as_secs_f64(),
                borrowed.as_secs_f64() / floor.as_secs_f64()
            );
            println!(
                "serde_json on the plain documents: owned {:.3} ms, borrowed {:.3} ms, floor {:.3} ms; owned / its floor {:.2}, borrowed / its floor {:.2}",
                ms(plain_owned),
                ms(plain_borrowed),
                ms(plain_floor),
                plain_owned.as_secs_f64() / plain_floor.as_secs_f64(),
                plain_borrowed.as_secs_f64() / plain_floor.as_secs_f64()
            );
            println!(
                "ours / serde_json owned {:.2}, ours_borrowed / serde_json borrowed {:.2}",
                ours.as_secs_f64() / plain_owned.as_secs_f64(),
                borrowed.as_secs_f64() / plain_borrowed.as_secs_f64()
            );
        }
        other => unreachable!("{other:?} is not one of {MODES:?}"),
    }
}
