//! Reading a secret's value from the user: a no-echo prompt on a
//! terminal, else stdin. Never from argv (shell history, `ps`).

use std::io::Read;

use zeroize::Zeroizing;

use super::Secret;
use crate::error::{Error, Result};

/// A value from a no-echo prompt on a terminal, else all of stdin (one
/// trailing newline dropped; private keys keep their final newline).
pub fn read_value(interactive: bool, key: &str) -> Result<Secret> {
    if interactive {
        let typed = Zeroizing::new(
            rpassword::prompt_password(format!("value for {key} (input hidden): "))
                .map_err(|e| Error::failed(format!("cannot read from the terminal: {e}")))?,
        );
        return Ok(Secret::new(typed.as_str()));
    }
    let mut raw = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut raw)
        .map_err(|e| Error::failed(format!("cannot read the value from stdin: {e}")))?;
    let text = Zeroizing::new(
        String::from_utf8(std::mem::take(&mut *raw))
            .map_err(|_| Error::bad_input(format!("the value for {key} on stdin is not UTF-8")))?,
    );
    let value = if key == "ssh_private_key" {
        text.as_str()
    } else {
        text.strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text.as_str())
    };
    if value.is_empty() {
        return Err(Error::bad_input(format!(
            "no value for {key} on stdin; pipe it in, e.g. `clawprov secrets set {key} < file`"
        )));
    }
    Ok(Secret::new(value))
}
