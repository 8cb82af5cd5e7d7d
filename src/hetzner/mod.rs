//! Hetzner Cloud client layer (issue: Hetzner layer).
