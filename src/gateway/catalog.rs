//! The pinned release's own model catalog, vendored
//! (`vendor/openclaw/<version>/models.txt`, written by
//! scripts/openclaw-schema.sh from the real package): a model it does not
//! list is a warning, as OpenClaw itself only warns.

use crate::stack::Stack;

/// The vendored releases: (version, catalog).
const CATALOGS: &[(&str, &str)] = &[(
    "2026.9.6",
    include_str!("../../vendor/openclaw/2026.9.6/models.txt"),
)];

/// The catalog of `version`, or of the nearest vendored release before it.
pub fn for_version(version: &str) -> (&'static str, &'static str) {
    super::schema::nearest(CATALOGS, version)
}

/// Whether `model` (`provider/id`) is in the catalog text.
pub fn lists(catalog: &str, model: &str) -> bool {
    catalog.lines().any(|l| l.trim() == model)
}

/// A warning per declared model the catalog does not list (custom
/// providers' models are declared by the stack itself).
pub fn unknown_models(stack: &Stack) -> Vec<String> {
    let (release, catalog) = for_version(&stack.openclaw.version);
    let m = &stack.openclaw.model;
    std::iter::once(("openclaw.model.primary".to_string(), &m.primary))
        .chain(m.fallbacks.iter().enumerate().map(|(i, f)| (format!("openclaw.model.fallbacks[{i}]"), f)))
        .filter(|(_, model)| {
            let provider = model.split('/').next().unwrap_or_default();
            !stack.openclaw.providers.contains_key(provider) && !lists(catalog, model)
        })
        .map(|(field, model)| {
            format!("{field}: `{model}` is not in OpenClaw {release}'s model catalog; the gateway will try it as given")
        })
        .collect()
}
