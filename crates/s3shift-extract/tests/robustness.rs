//! No panic, hang or broken guarantee on damaged input: every fixture cut at every length (the first 64 KiB at
//! every byte, then at a stride), and with deterministic random bit flips and byte runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use s3shift_extract::{ExtractConfig, ExtractStatus, Step, extract_bytes, extract_prefix};

/// Every length up to this many bytes is tried; beyond, a stride.
const EVERY_LENGTH_UP_TO: usize = 64 * 1024;
const STRIDE: usize = 509;

fn lengths(len: usize) -> impl Iterator<Item = usize> {
    (0..=len.min(EVERY_LENGTH_UP_TO))
        .chain((EVERY_LENGTH_UP_TO + 1..=len).step_by(STRIDE))
        .chain([len])
}

#[test]
fn truncation_at_every_length() {
    let config = ExtractConfig::default();
    let mut calls = 0u64;
    for f in support::fixtures() {
        let data = support::read(&f);
        for n in lengths(data.len()) {
            let cut = &data[..n];
            // The object really ends at n.
            let rec = extract_bytes(cut);
            rec.check_guarantees()
                .unwrap_or_else(|e| panic!("{} cut at {n}: {e}", f.rel));
            if n == 0 {
                assert_eq!(rec.status, ExtractStatus::Empty);
            }
            if rec.status == ExtractStatus::Corrupt || rec.status == ExtractStatus::Truncated {
                assert!(rec.reason.is_some(), "{} cut at {n}", f.rel);
            }
            // Only the first n bytes of the whole object are held: either done, or a sensible next range.
            match extract_prefix(cut, data.len() as u64, &config) {
                Step::Done(rec) => rec
                    .check_guarantees()
                    .unwrap_or_else(|e| panic!("{} prefix {n}: {e}", f.rel)),
                Step::Need(r) => {
                    assert!(
                        !r.is_empty() && r.start >= n as u64 && r.end <= data.len() as u64,
                        "{}: {r}",
                        f.rel
                    );
                    assert!(r.len() <= config.max_bytes, "{}: {r}", f.rel);
                }
            }
            calls += 2;
        }
    }
    println!("{calls} extractions over truncated fixtures");
}

/// xorshift64*: deterministic, seedable, good enough to spread flips.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn bit_flips_and_byte_runs() {
    let mut rng = Rng(0x5EED_5EED_1234_5678);
    for f in support::fixtures() {
        let data = support::read(&f);
        if data.is_empty() {
            continue;
        }
        // Damage concentrates where headers are: the first 4 KiB, and anywhere else.
        let hot = data.len().min(4096);
        for i in 0..600 {
            let mut d = data.clone();
            let at = if i % 3 == 0 {
                rng.below(d.len())
            } else {
                rng.below(hot)
            };
            match i % 4 {
                0 | 1 => d[at] ^= 1 << rng.below(8),
                2 => d[at] = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)],
                _ => {
                    let run = (rng.below(16) + 1).min(d.len() - at);
                    let fill = [0x00u8, 0xFF][rng.below(2)];
                    d[at..at + run].fill(fill);
                }
            }
            let rec = extract_bytes(&d);
            rec.check_guarantees()
                .unwrap_or_else(|e| panic!("{} damaged at {at}: {e}", f.rel));
        }
    }
}
