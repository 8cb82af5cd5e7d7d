//! nvm's installer: the `install.sh` of the pinned release hashes to the
//! pinned sha256, the same check the bootstrap script makes on the node, made
//! here first so that a wrong pin fails before a server exists.

use sha2::{Digest, Sha256};

use super::error::{Mismatch, PreflightError};
use super::fetch::{shown_url, Fetcher};

pub fn install_url(source: &str, version: &str) -> String {
    format!("{source}/v{version}/install.sh")
}

/// The sha256 (lowercase hex) of nvm `version`'s install.sh, checked
/// against `expected`.
pub async fn check(
    fetcher: &Fetcher,
    source: &str,
    stack: &str,
    version: &str,
    expected: &str,
) -> Result<String, PreflightError> {
    let url = install_url(source, version);
    let mismatch = |m| PreflightError::wrong_pin(stack, m);
    let Some(body) = fetcher.get(&url, "*/*").await? else {
        return Err(mismatch(Mismatch::NvmMissing {
            version: version.to_string(),
            url: shown_url(&url),
        }));
    };
    let actual = hex::encode(Sha256::digest(body.as_slice()));
    if actual.eq_ignore_ascii_case(expected) {
        Ok(actual)
    } else {
        Err(mismatch(Mismatch::NvmChecksum {
            version: version.to_string(),
            url: shown_url(&url),
            expected: expected.to_string(),
            actual,
        }))
    }
}
