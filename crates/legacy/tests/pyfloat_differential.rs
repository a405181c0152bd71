//! Differential check against the machine's CPython: for over a million floats — random bit
//! patterns, subnormals, exact ties at 17 significant digits, 3-decimal prices and their
//! neighbours one ULP away, the points where `repr` switches to exponent notation — our
//! `repr(x)` and `json.dumps(x)` are byte for byte CPython's, and reading CPython's JSON text
//! back and writing it again gives the same text.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::io::Write;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tierstore_legacy::format::pyfloat::{float_repr, push_json_float};
use tierstore_legacy::format::pyjson::{self, Json};

/// Runs `python3 -c script` with `input` on stdin; a missing interpreter is a loud failure.
fn python(script: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for the differential test and could not start ({e}); install it with `apt-get install python3`")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn next_up(v: f64) -> f64 {
    f64::from_bits(v.to_bits() + 1)
}

fn next_down(v: f64) -> f64 {
    f64::from_bits(v.to_bits() - 1)
}

/// The sample: a little over a million finite floats of every kind that has gone wrong.
fn sample() -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_f10a7);
    let mut out: Vec<f64> = Vec::with_capacity(1_100_000);
    // Arbitrary bit patterns: every exponent, both signs, subnormals.
    while out.len() < 400_000 {
        let v = f64::from_bits(rng.random());
        if v.is_finite() {
            out.push(v);
        }
    }
    for _ in 0..50_000 {
        out.push(f64::from_bits(rng.random_range(1..(1u64 << 52))));
    }
    // Exact ties at 17 significant digits in fixed notation between 1e10 and 1e16: integers
    // plus a short binary fraction, whose exact expansion ends in 5 one digit past the 17th.
    for _ in 0..250_000 {
        let int = rng.random_range(10_000_000_000u64..10_000_000_000_000_000);
        let bits = rng.random_range(1..=12u32);
        let frac = rng.random_range(0..(1u64 << bits)) as f64 / (1u64 << bits) as f64;
        out.push(int as f64 + frac);
    }
    // Prices with 3 decimals, as the files hold them, and one ULP either side.
    for _ in 0..100_000 {
        let p = rng.random_range(1u64..100_000_000) as f64 / 1000.0;
        out.extend([p, next_up(p), next_down(p)]);
    }
    // Around the switches to exponent notation and the powers of ten.
    for e in -330i32..=310 {
        let p = 10f64.powi(e);
        if p.is_finite() && p > 0.0 {
            let mut v = p;
            for _ in 0..40 {
                out.extend([v, -v]);
                v = next_up(v);
            }
            let mut v = p;
            for _ in 0..40 {
                v = next_down(v);
                out.push(v);
            }
        }
    }
    for base in [1e-5, 1e-4, 1e15, 1e16, 9999999999999998.0, 0.0001, 0.00009999999999999999] {
        let mut v = base;
        for _ in 0..500 {
            out.push(v);
            v = next_up(v);
        }
    }
    out.extend([0.0, -0.0, f64::MIN_POSITIVE, f64::MAX, f64::MIN, 5e-324]);
    out
}

#[test]
fn repr_and_json_dumps_match_cpython_on_a_million_floats() {
    let floats = sample();
    assert!(floats.len() >= 1_000_000, "{}", floats.len());
    let input: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = python(
        "import sys, struct, json\n\
         xs = [t[0] for t in struct.iter_unpack('<d', sys.stdin.buffer.read())]\n\
         sys.stdout.write('\\n'.join(map(repr, xs)))\n\
         sys.stdout.write('\\n=====\\n')\n\
         sys.stdout.write(json.dumps(xs))\n",
        &input,
    );
    let out = String::from_utf8(out).unwrap();
    let (reprs, json) = out.split_once("\n=====\n").unwrap();

    let mut differ = Vec::new();
    let mut count = 0;
    for (v, want) in floats.iter().zip(reprs.split('\n')) {
        count += 1;
        let got = float_repr(*v);
        if got != want {
            differ.push(format!("bits {:#018x}: python {want}, ours {got}", v.to_bits()));
        }
    }
    assert_eq!(count, floats.len(), "python printed every float");
    assert!(
        differ.is_empty(),
        "{} of {} differ from repr(), e.g.\n{}",
        differ.len(),
        floats.len(),
        differ[..differ.len().min(10)].join("\n")
    );

    // json.dumps of the list: each element is what we write for that float.
    let elements: Vec<&str> = json.trim_start_matches('[').trim_end_matches(']').split(", ").collect();
    assert_eq!(elements.len(), floats.len());
    for (v, want) in floats.iter().zip(&elements) {
        let mut got = String::new();
        push_json_float(&mut got, *v);
        assert_eq!(&got, want, "json.dumps of bits {:#018x}", v.to_bits());
    }

    // Python's JSON read by our parser and written again: the same text, element by element.
    let Json::Array(items) = pyjson::parse(json).unwrap() else { panic!("not an array") };
    assert_eq!(items.len(), floats.len());
    for ((item, want), v) in items.iter().zip(&elements).zip(&floats) {
        let Json::Number(n) = item else { panic!("{item:?}") };
        assert_eq!(n.as_f64().to_bits(), v.to_bits(), "{want} read back as another float");
        assert_eq!(pyjson::dumps(item), *want, "{want} rewritten");
    }
}
