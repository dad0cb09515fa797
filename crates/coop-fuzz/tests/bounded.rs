//! Each fuzz target, bounded: its seeds (`seeds/<target>/`), then deterministic mutations of
//! them (bits flipped, bytes inserted, deleted, repeated, seeds spliced, tokens of the formats
//! dropped in) for `COOP_FUZZ_SECONDS` seconds a target (2 by default). Not coverage-guided:
//! that is `cargo fuzz run <target>` in `fuzz/`. A failing input is written to
//! `$CARGO_TARGET_TMPDIR/fuzz-failures/<target>-<n>` and printed with its panic's message, to add
//! to the seeds once fixed.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Bytes the formats care about, to drop into inputs.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"-1",
    b"0",
    b"1e308",
    b"\\u0000",
    b"\r\n",
    b"#VER",
    b"#TRANS",
    b"#KONTO",
    b"#KSUMMA",
    b"#RAR",
    b"\xff",
    b"\x06\x0f",
    b"\x04\x0f",
    b"\x27",
    b"\x02",
    b"\r",
    b"99999999999999999999",
    b"0.001",
    b"-0.00",
    b"7310001000014",
    b"2300101001239",
    b"\x1b@",
    b"\x1dV",
    b"\x10\x04",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).expect("small")
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                input.insert(i, u8::try_from(rng.below(256)).expect("a byte"));
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i).min(16) + 1;
                input.drain(i..(i + n).min(len));
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = (rng.below(len - i) + 1).min(64);
                let chunk = input[i..i + n].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, chunk);
            }
            4 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let at = rng.below(len + 1);
                    input.truncate(at);
                    input.extend_from_slice(&other[from..]);
                }
            }
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, t.iter().copied());
            }
            _ if len > 0 => {
                // A digit or a letter changed: codes and amounts.
                let i = rng.below(len);
                input[i] = b"0123456789a.-"[rng.below(13)];
            }
            _ => input.push(b'0'),
        }
    }
    input.truncate(64 * 1024);
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} has no seeds", dir.display());
    out
}

#[test]
fn every_target_on_its_seeds_and_their_mutations() {
    let seconds: u64 = std::env::var("COOP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    // Quiet panics: a failure is reported below with its input.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for (name, target) in coop_fuzz::TARGETS {
        let seeds = seeds(name);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        let until = Instant::now() + Duration::from_secs(seconds);
        let mut runs = 0u64;
        let mut run = |input: &[u8]| -> bool {
            runs += 1;
            match catch_unwind(AssertUnwindSafe(|| target(input))) {
                Ok(()) => true,
                Err(p) => {
                    let message = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    failures.push((*name, input.to_vec(), message));
                    false
                }
            }
        };
        let mut ok = seeds.iter().all(|s| run(s));
        while ok && Instant::now() < until {
            let mut input = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &mut input, &seeds);
            ok = run(&input);
        }
        eprintln!("fuzz {name}: {runs} inputs in at most {seconds} s");
    }
    let _ = std::panic::take_hook();
    if failures.is_empty() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let mut report = String::new();
    for (i, (name, input, message)) in failures.iter().enumerate() {
        let path = dir.join(format!("{name}-{i}"));
        std::fs::write(&path, input).unwrap();
        let shown = String::from_utf8_lossy(input);
        let _ = writeln!(
            report,
            "{name}: {message}\n  input {} ({} bytes): {:?}",
            path.display(),
            input.len(),
            shown.chars().take(300).collect::<String>()
        );
    }
    panic!("fuzz targets failed:\n{report}");
}

#[test]
fn the_sale_seeds_are_ones_central_takes() {
    // Otherwise the bounded run would only ever see refusals. (Seeds named `refused-…` are
    // inputs a fix made central refuse.)
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/sale_upload");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("refused-")
        {
            continue;
        }
        let seed = std::fs::read(path).unwrap();
        let r: coop_pos_till::journal::SaleRecord = serde_json::from_slice(&seed).unwrap();
        coop_pos::ingest::check_record(&r, &r.till, &r.currency).unwrap();
        coop_pos::ingest::check_rates(&r, &coop_fuzz::vat()).unwrap();
    }
}
