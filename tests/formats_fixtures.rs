//! Every fixture under tests/fixtures/<format>/: each `NAME.ndjson` holds real-shaped vendor
//! records (one per line, origins in the directory's ORIGIN.md), and `NAME.expected.ndjson`
//! the native events, rejections and skips `socmetrics convert` must print for them, in order.
//! Set `SOCMETRICS_BLESS=1` to write the expected files from the current output (then read
//! them by eye: they are the mapping's contract).

use std::fs;
use std::path::Path;

use socmetrics::formats::{Format, convert::convert, guard::Limits};

const LIMITS: Limits = Limits {
    max_record_bytes: 1 << 20,
    max_depth: 64,
};

fn output(format: Format, input: &str) -> String {
    let mut out = String::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        for value in convert(format, line, LIMITS) {
            out.push_str(&value.to_string());
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_fixture_gives_its_expected_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bless = std::env::var_os("SOCMETRICS_BLESS").is_some();
    let mut checked = 0;
    for format in Format::ALL {
        let dir = root.join(format.as_str());
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut inputs: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "ndjson")
                    && !p.to_string_lossy().ends_with(".expected.ndjson")
            })
            .collect();
        inputs.sort();
        assert!(
            dir.join("ORIGIN.md").exists(),
            "{}: every fixture directory names its records' public origin in ORIGIN.md",
            dir.display()
        );
        for input in inputs {
            let expected_path = input.with_extension("expected.ndjson");
            let actual = output(format, &fs::read_to_string(&input).expect("fixture"));
            if bless {
                fs::write(&expected_path, &actual).expect("write expected");
            }
            let expected = fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("{} has no expected output", expected_path.display()));
            assert_eq!(actual, expected, "{}", input.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no fixture found under {}", root.display());
}
