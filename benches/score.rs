//! Criterion bench (filled in by its crate's issue).
fn main() {}
