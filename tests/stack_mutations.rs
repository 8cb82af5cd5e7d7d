//! Random byte mutations of the example stack never make `parse` panic (or
//! hang). Seeded, so a failure reproduces; no timing involved.

mod support;

use rand::{Rng, SeedableRng};

#[test]
fn mutated_examples_never_panic() {
    let base = std::fs::read(support::repo_dir().join("stacks/example.yaml")).expect("example");
    let origin = std::path::Path::new("mutated.yaml");
    clawprov::stack::parse(&base, origin).expect("the unmutated example is valid");
    let interesting: &[u8] = b"\0\t\r\n :-[]{}&*!|>'\"#%@`,?\\\xff\xef\xbb\xbf\xc3\xe2\x80\xa8";
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_c1a0);
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = base.clone();
        for _ in 0..rng.gen_range(1..=4) {
            let i = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..4) {
                0 => bytes[i] = interesting[rng.gen_range(0..interesting.len())],
                1 => bytes[i] = rng.gen(),
                2 => {
                    bytes.remove(i);
                }
                _ => {
                    let len = rng.gen_range(1..40).min(bytes.len() - i);
                    let chunk: Vec<u8> = bytes[i..i + len].to_vec();
                    let at = rng.gen_range(0..bytes.len());
                    bytes.splice(at..at, chunk);
                }
            }
        }
        match clawprov::stack::parse(&bytes, origin) {
            Ok(stack) => {
                accepted += 1;
                // Whatever got through still meets the allowlists.
                assert!(stack
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            }
            Err(e) => {
                refused += 1;
                assert!(!e.field.is_empty(), "{e}");
                assert!(e.line >= 1 && e.column >= 1, "{e}");
            }
        }
    }
    // Both outcomes happen: mutations are neither all harmless nor all fatal.
    assert!(
        refused > 100 && accepted > 10,
        "refused {refused}, accepted {accepted}"
    );
}
