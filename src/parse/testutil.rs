//! Test-only: the deterministic random inputs of the robustness tests of the parsers (here) and
//! of the analysers (`collect::files`, which may import this layer). Written once so every
//! "random input never panics" test draws from the same generator.

/// A deterministic xorshift64 generator: the same seed gives the same numbers on every run
/// (no extra dependencies). Not for anything but test inputs.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator seeded with `seed` (never 0, which would stay 0).
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next number of the sequence.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Calls `check` on `rounds` pseudo-random texts, each of fewer than `max_len` `pieces` drawn by an
/// [`XorShift`] seeded with `seed`; a panic in `check` fails the calling test.
pub(crate) fn for_each_generated_text(
    seed: u64,
    rounds: usize,
    max_len: u64,
    pieces: &[&str],
    mut check: impl FnMut(&str),
) {
    let mut rng = XorShift::new(seed);
    for _ in 0..rounds {
        let len = (rng.next() % max_len) as usize;
        let text: String = (0..len).map(|_| pieces[(rng.next() % pieces.len() as u64) as usize]).collect();
        check(&text);
    }
}
