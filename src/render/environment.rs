//! The minijinja environment every template renders in.
//!
//! Settings that make a mistake loud instead of silent:
//! - undefined variables are errors (strict), so a misspelt name cannot
//!   render as an empty string into a shell line;
//! - auto-escaping is off (HTML escaping would be wrong for YAML and shell);
//!   instead the formatter refuses to print any value that did not come out
//!   of a quoting filter (`yaml_str`, `yaml_block`, `sh_quote`, `word`), so
//!   every interpolation must name the context it lands in.

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use super::error::RenderError;
use super::quote;
use super::templates::Source;

/// Build the environment holding `sources`, with the quoting filters.
pub(crate) fn environment(sources: &[Source]) -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_formatter(|out, _state, value| {
        if value.is_safe() {
            out.write_str(value.as_str().unwrap_or_default())
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write output"))
        } else {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                "a value is printed without a quoting filter; end every {{ ... }} with \
                 yaml_str, yaml_block(indent), sh_quote or word",
            ))
        }
    });
    env.add_filter("yaml_str", |v: Value| -> Result<Value, Error> {
        Ok(Value::from_safe_string(quote::yaml_str(&scalar_text(&v)?)))
    });
    env.add_filter(
        "yaml_block",
        |v: Value, indent: usize| -> Result<Value, Error> {
            Ok(Value::from_safe_string(quote::yaml_block(
                &scalar_text(&v)?,
                indent,
            )))
        },
    );
    env.add_filter("sh_quote", |v: Value| -> Result<Value, Error> {
        Ok(Value::from_safe_string(quote::sh_quote(&scalar_text(&v)?)))
    });
    env.add_filter("word", |v: Value| -> Result<Value, Error> {
        let text = scalar_text(&v)?;
        quote::word(&text)
            .map(|w| Value::from_safe_string(w.to_string()))
            .map_err(|msg| Error::new(ErrorKind::InvalidOperation, msg))
    });
    for source in sources {
        env.add_template_owned(source.name, source.text.clone())
            .map_err(|e| template_error(&e, sources))?;
    }
    Ok(env)
}

/// The text of a scalar value; lists, maps and none are refused so a
/// template cannot quote Rust's debug form of a structure by accident.
fn scalar_text(v: &Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    match v.kind() {
        minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool => {
            Ok(v.to_string())
        }
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a quoting filter needs a string or number, got {kind}"),
        )),
    }
}

/// Turn a minijinja error into one naming the template file and line.
pub(crate) fn template_error(e: &Error, sources: &[Source]) -> RenderError {
    let name = e.name().unwrap_or("?");
    let source = sources.iter().find(|s| s.name == name);
    let file = match source.and_then(|s| s.path.as_ref()) {
        Some(path) => path.display().to_string(),
        None => name.to_string(),
    };
    let detail = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    RenderError::Template {
        file,
        line: e.line(),
        detail,
        from_override: source.is_some_and(|s| s.path.is_some()),
    }
}
