//! Pose matching: the old project's cosine score, exactly, and a robust per-limb score with time alignment.
#![forbid(unsafe_code)]
