//! The tree installed on a server, as `npm ls --all --parseable --long`
//! prints it (run as the service user in the release directory): one line
//! per installed package, `ABSOLUTE_PATH:name@version[:FLAGS]`. The
//! service user controls that output, so it is read with bounds and every
//! name it carries is shown escaped.

use super::diff::{diff, LockDiff, Tree};
use super::Lock;

/// More lines than any real tree has (the 2026.9.6 tree: 332).
pub const MAX_PACKAGES: usize = 20_000;

/// The installed tree under `dir` (`path` -> `name@version`, paths
/// relative to `dir`), or why the listing is not one.
pub fn parse(listing: &str, dir: &str) -> Result<Tree, String> {
    let mut tree = Tree::new();
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    for (n, line) in listing.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if n >= MAX_PACKAGES {
            return Err(format!("more than {MAX_PACKAGES} packages listed"));
        }
        if line.starts_with(&format!("{}:", dir.trim_end_matches('/'))) {
            continue; // the release's own package.json (the root)
        }
        let rest = line.strip_prefix(&prefix).ok_or_else(|| {
            format!(
                "a package outside the release directory: {}",
                crate::remote_text::escape(line)
            )
        })?;
        let mut fields = rest.split(':');
        let path = fields.next().unwrap_or_default();
        let id = fields.next().unwrap_or_default();
        if !path.starts_with("node_modules/") || !id.contains('@') {
            return Err(format!(
                "not a package line: {}",
                crate::remote_text::escape(line)
            ));
        }
        tree.insert(path.to_string(), id.to_string());
    }
    Ok(tree)
}

/// How the installed tree differs from `lock`. An optional package the
/// lock has for another platform may be absent.
pub fn compare(lock: &Lock, installed: &Tree) -> LockDiff {
    let mut d = diff(&lock.tree(), installed, |path| {
        lock.packages().get(path).is_some_and(|p| p.optional)
    });
    for entry in d
        .added
        .iter_mut()
        .chain(&mut d.removed)
        .chain(&mut d.changed)
    {
        *entry = crate::remote_text::escape(entry).into_owned();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGE: &str = r#"{"dependencies":{"openclaw":"1.0.0"}}"#;
    const LOCK: &str = r#"{"lockfileVersion":3,"packages":{
      "":{"dependencies":{"openclaw":"1.0.0"}},
      "node_modules/openclaw":{"version":"1.0.0","resolved":"https://registry.npmjs.org/openclaw/-/openclaw-1.0.0.tgz","integrity":"sha512-A"},
      "node_modules/@s/dep":{"version":"2.0.0","resolved":"https://registry.npmjs.org/@s/dep/-/dep-2.0.0.tgz","integrity":"sha512-B"},
      "node_modules/native-win32":{"version":"1.0.0","resolved":"https://registry.npmjs.org/native-win32/-/native-win32-1.0.0.tgz","integrity":"sha512-C","optional":true}}}"#;

    #[test]
    fn the_locked_tree_matches_and_each_drift_is_named() {
        let lock = Lock::parse(PACKAGE, LOCK, "1.0.0").unwrap();
        let dir = "/home/openclaw/.local/lib/clawprov/r";
        let good = format!(
            "{dir}:clawprov-openclaw-release@1.0.0\n{dir}/node_modules/openclaw:openclaw@1.0.0\n\
             {dir}/node_modules/@s/dep:@s/dep@2.0.0\n"
        );
        let tree = parse(&good, dir).unwrap();
        assert!(
            compare(&lock, &tree).is_empty(),
            "{:?}",
            compare(&lock, &tree)
        );

        let drifted = good.replace("@s/dep@2.0.0", "@s/dep@2.0.1")
            + &format!("{dir}/node_modules/evil\x1b[2J:evil@1.0.0:EXTRANEOUS\n");
        let d = compare(&lock, &parse(&drifted, dir).unwrap());
        assert_eq!(
            d.changed,
            ["node_modules/@s/dep: @s/dep@2.0.0 -> @s/dep@2.0.1"]
        );
        assert_eq!(d.added.len(), 1);
        assert!(!d.added[0].contains('\x1b'), "escaped: {:?}", d.added);
        let gone = good.replace(&format!("{dir}/node_modules/@s/dep:@s/dep@2.0.0\n"), "");
        assert_eq!(
            compare(&lock, &parse(&gone, dir).unwrap()).removed,
            ["node_modules/@s/dep: @s/dep@2.0.0"]
        );

        assert!(parse("/elsewhere/node_modules/x:x@1\n", dir).is_err());
        assert!(parse(&format!("{dir}/node_modules/x\n"), dir).is_err());
    }
}
