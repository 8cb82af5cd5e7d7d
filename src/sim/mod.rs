//! Embedded Hetzner Cloud API simulator (issue: Hetzner layer).
