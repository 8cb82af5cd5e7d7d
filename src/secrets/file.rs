//! The vault file: ASCII-armored age ciphertext whose plaintext is a YAML
//! map of secret name -> string.
//!
//! Plaintext lives only in zeroized memory: it is serialized into a
//! [`PlainBuf`] and encrypted from there, and decrypted into a zeroized
//! buffer and parsed from there. Nothing but ciphertext reaches the disk.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::SecretString;
use zeroize::Zeroizing;

use super::atomic::{self, Stage};
use super::{Recipient, Secret, Vault, VaultError};

/// scrypt work factor (N = 2^18) for passphrase vaults clawprov writes: the
/// age CLI's usual choice (its ~1 s calibration lands there on current
/// hardware), ~256 MiB of memory per guess. It is fixed rather than
/// calibrated so that a vault written on a fast laptop stays readable on a
/// slow CI runner, and so a debug build (slow scrypt) does not pick a weak one.
pub const PASSPHRASE_WORK_FACTOR: u8 = 18;

/// Highest scrypt work factor accepted when decrypting (N = 2^22, ~4 GiB
/// worst case): files from the `age` CLI on fast machines decrypt, and a
/// hostile file cannot ask for unbounded work.
pub const MAX_WORK_FACTOR: u8 = 22;

/// Largest vault file read. Ten secrets of at most 64 KiB, armored, fit.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How to decrypt a vault.
pub enum Unlock {
    /// age identities (X25519 and/or SSH), see [`super::identity::load`].
    Identities(Vec<Box<dyn age::Identity>>),
    /// The passphrase of a passphrase vault.
    Passphrase(Secret),
}

impl fmt::Debug for Unlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlock::Identities(ids) => write!(f, "Identities({} identities)", ids.len()),
            Unlock::Passphrase(_) => f.write_str("Passphrase([redacted])"),
        }
    }
}

/// How to encrypt a vault.
#[derive(Debug, Clone, Copy)]
pub enum Lock<'a> {
    /// To each of these public keys; any one of their identities decrypts.
    Recipients(&'a [Recipient]),
    /// To a passphrase (scrypt, work factor [`PASSPHRASE_WORK_FACTOR`]).
    Passphrase(&'a Secret),
}

/// Decrypt and parse the vault at `path`.
pub fn read(path: &Path, unlock: &Unlock) -> Result<Vault, VaultError> {
    let ciphertext = read_ciphertext(path)?;
    let decryptor = age::Decryptor::new(ArmoredReader::new(&ciphertext[..]))
        .map_err(|e| decrypt_error(path, e, false))?;
    let scrypt = decryptor.is_scrypt();
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    let mut reader = match unlock {
        Unlock::Identities(_) if scrypt => {
            return Err(VaultError::NeedsPassphrase {
                path: path.to_path_buf(),
            })
        }
        Unlock::Passphrase(_) if !scrypt => {
            return Err(VaultError::NeedsIdentity {
                path: path.to_path_buf(),
            })
        }
        Unlock::Identities(ids) => decryptor.decrypt(ids.iter().map(|i| &**i)),
        Unlock::Passphrase(pass) => {
            let mut id = age::scrypt::Identity::new(SecretString::from(pass.expose().to_owned()));
            id.set_max_work_factor(MAX_WORK_FACTOR);
            decryptor.decrypt(std::iter::once(&id as &dyn age::Identity))
        }
    }
    .map_err(|e| decrypt_error(path, e, scrypt))?;
    reader
        .read_to_end(&mut plaintext)
        .map_err(|_| malformed(path, "the ciphertext is damaged or truncated"))?;
    parse(path, &plaintext)
}

/// Whether the vault at `path` is encrypted to a passphrase (rather than to
/// recipients), so a caller knows which [`Unlock`] to build. Reads the
/// header only; needs no key.
pub fn is_passphrase_vault(path: &Path) -> Result<bool, VaultError> {
    let ciphertext = read_ciphertext(path)?;
    let decryptor = age::Decryptor::new(ArmoredReader::new(&ciphertext[..]))
        .map_err(|e| decrypt_error(path, e, false))?;
    Ok(decryptor.is_scrypt())
}

/// Encrypt `vault` and replace `path` with it atomically (see
/// [`atomic`](super::atomic)): on any failure the previous file is intact.
pub fn write(path: &Path, vault: &Vault, lock: &Lock) -> Result<(), VaultError> {
    write_with_hook(path, vault, lock, &atomic::uninterrupted)
}

/// [`write`], made to fail at `at`, for tests that prove an interrupted
/// write keeps the previous vault. Not for production use.
#[doc(hidden)]
pub fn write_interrupted(
    path: &Path,
    vault: &Vault,
    lock: &Lock,
    at: Stage,
) -> Result<(), VaultError> {
    let hook = move |s: Stage| {
        if s == at {
            Err(io::Error::other(format!("interrupted by test at {s:?}")))
        } else {
            Ok(())
        }
    };
    write_with_hook(path, vault, lock, &hook)
}

fn write_with_hook(
    path: &Path,
    vault: &Vault,
    lock: &Lock,
    hook: &dyn Fn(Stage) -> io::Result<()>,
) -> Result<(), VaultError> {
    let plaintext = serialize(path, vault)?;
    let ciphertext = encrypt(path, &plaintext.0, lock)?;
    atomic::replace(path, &ciphertext, hook).map_err(|e| VaultError::Io {
        path: path.to_path_buf(),
        action: e.action,
        source: e.source,
    })
}

fn read_ciphertext(path: &Path) -> Result<Vec<u8>, VaultError> {
    let io_err = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            VaultError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            VaultError::Io {
                path: path.to_path_buf(),
                action: "read it",
                source,
            }
        }
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(malformed(path, "larger than 4 MiB; not a clawprov vault"));
    }
    Ok(bytes)
}

fn encrypt(path: &Path, plaintext: &[u8], lock: &Lock) -> Result<Vec<u8>, VaultError> {
    let encryptor = match lock {
        Lock::Recipients(recipients) => {
            if recipients.is_empty() {
                return Err(VaultError::NoRecipients {
                    path: path.to_path_buf(),
                });
            }
            age::Encryptor::with_recipients(
                recipients.iter().map(|r| r.as_age() as &dyn age::Recipient),
            )
            .map_err(|e| VaultError::Encrypt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
        }
        Lock::Passphrase(pass) => {
            if pass.expose().is_empty() {
                return Err(VaultError::EmptyPassphrase);
            }
            let mut recipient =
                age::scrypt::Recipient::new(SecretString::from(pass.expose().to_owned()));
            recipient.set_work_factor(PASSPHRASE_WORK_FACTOR);
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| VaultError::Encrypt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?
        }
    };
    let io_err = |source| VaultError::Io {
        path: path.to_path_buf(),
        action: "encrypt it",
        source,
    };
    let armored = ArmoredWriter::wrap_output(Vec::new(), Format::AsciiArmor).map_err(io_err)?;
    let mut writer = encryptor.wrap_output(armored).map_err(io_err)?;
    writer.write_all(plaintext).map_err(io_err)?;
    writer
        .finish()
        .and_then(|armored| armored.finish())
        .map_err(io_err)
}

/// A growable byte buffer that zeroes every allocation it lets go of, so
/// serializing the plaintext leaves no copy in freed memory.
struct PlainBuf(Zeroizing<Vec<u8>>);

impl Write for PlainBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let needed = self.0.len() + data.len();
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(2 * self.0.capacity())));
            bigger.extend_from_slice(&self.0);
            // The old buffer is zeroed as it drops here.
            self.0 = bigger;
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn serialize(path: &Path, vault: &Vault) -> Result<PlainBuf, VaultError> {
    let record = vault.record_entry();
    let mut map: BTreeMap<&str, &str> = vault.entries().map(|(k, v)| (k, v.expose())).collect();
    if let Some((key, text)) = &record {
        map.insert(key, text.as_str());
    }
    let mut buf = PlainBuf(Zeroizing::new(Vec::with_capacity(4096)));
    serde_yaml::to_writer(&mut buf, &map).map_err(|_| VaultError::Encrypt {
        path: path.to_path_buf(),
        reason: "cannot serialize the secrets as YAML".into(),
    })?;
    Ok(buf)
}

fn parse(path: &Path, plaintext: &[u8]) -> Result<Vault, VaultError> {
    let text = std::str::from_utf8(plaintext)
        .map_err(|_| malformed(path, "the plaintext is not UTF-8"))?;
    let mut vault = Vault::new();
    if text.trim().is_empty() {
        return Ok(vault);
    }
    let entries: schema::Entries = serde_yaml::from_str(text)
        .map_err(|e| {
            // serde_yaml's own messages can quote the offending scalar (a
            // secret): show only our fixed reasons, plus the position.
            let message = e.to_string();
            let reason = schema::REASONS
                .iter()
                .find(|r| message.contains(*r))
                .copied()
                .unwrap_or("not a YAML map of secret name -> string");
            match e.location() {
                Some(loc) => format!(
                    "{reason} (plaintext line {}, column {})",
                    loc.line(),
                    loc.column()
                ),
                None => reason.to_string(),
            }
        })
        .map_err(|reason| VaultError::Malformed {
            path: path.to_path_buf(),
            reason,
        })?;
    let mut entries = entries;
    for (key, value) in std::mem::take(&mut entries.0) {
        vault
            .insert_decoded(key, Secret::new(value))
            .map_err(|reason| VaultError::Malformed {
                path: path.to_path_buf(),
                reason,
            })?;
    }
    Ok(vault)
}

/// The plaintext schema, enforced while deserializing: a map whose keys and
/// values are YAML strings, no duplicates. Errors are fixed texts that never
/// quote the input.
mod schema {
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, Visitor};

    pub const NOT_A_MAP: &str = "the top level is not a map of secret name -> string";
    pub const KEY_NOT_STRING: &str = "a secret name is not a string";
    pub const VALUE_NOT_STRING: &str =
        "a secret value is not a string (nested values, numbers, booleans and nulls are not allowed)";
    pub const DUPLICATE: &str = "a secret name appears twice";
    pub const REASONS: &[&str] = &[NOT_A_MAP, KEY_NOT_STRING, VALUE_NOT_STRING, DUPLICATE];

    /// Name/value pairs in file order; values zeroed if parsing fails midway.
    pub struct Entries(pub Vec<(String, String)>);

    impl Drop for Entries {
        fn drop(&mut self) {
            for (_, v) in &mut self.0 {
                zeroize::Zeroize::zeroize(v);
            }
        }
    }

    impl<'de> de::Deserialize<'de> for Entries {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(EntriesVisitor)
        }
    }

    /// Rejects everything that is not a map, without quoting it.
    macro_rules! reject_all_but {
        ($msg:expr; $($method:ident($($ty:ty)?)),*) => {
            $(fn $method<E: de::Error>(self $(, _: $ty)?) -> Result<Self::Value, E> {
                Err(E::custom($msg))
            })*
        };
    }

    struct EntriesVisitor;

    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Entries;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(NOT_A_MAP)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
            let mut entries = Entries(Vec::new());
            while let Some(key) = map.next_key::<Text<KeyText>>()? {
                let value = map.next_value::<Text<ValueText>>()?;
                if entries.0.iter().any(|(k, _)| *k == key.0) {
                    return Err(de::Error::custom(DUPLICATE));
                }
                entries.0.push((key.0, value.0));
            }
            Ok(entries)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Entries, A::Error> {
            Err(de::Error::custom(NOT_A_MAP))
        }

        reject_all_but!(NOT_A_MAP; visit_bool(bool), visit_i64(i64), visit_u64(u64),
            visit_f64(f64), visit_str(&str), visit_unit(), visit_none());
    }

    /// Which fixed message a non-string scalar gets.
    pub trait Role {
        const MESSAGE: &'static str;
    }
    pub struct KeyText;
    impl Role for KeyText {
        const MESSAGE: &'static str = KEY_NOT_STRING;
    }
    pub struct ValueText;
    impl Role for ValueText {
        const MESSAGE: &'static str = VALUE_NOT_STRING;
    }

    /// A YAML string (plain, quoted or block scalar that resolves to a
    /// string); numbers, booleans, nulls, maps and lists are rejected.
    pub struct Text<R>(pub String, std::marker::PhantomData<R>);

    impl<'de, R: Role> de::Deserialize<'de> for Text<R> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TextVisitor::<R>(std::marker::PhantomData))
        }
    }

    struct TextVisitor<R>(std::marker::PhantomData<R>);

    impl<'de, R: Role> Visitor<'de> for TextVisitor<R> {
        type Value = Text<R>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(R::MESSAGE)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<R>, E> {
            Ok(Text(v.to_owned(), std::marker::PhantomData))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Text<R>, E> {
            Ok(Text(v, std::marker::PhantomData))
        }

        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Text<R>, A::Error> {
            Err(de::Error::custom(R::MESSAGE))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Text<R>, A::Error> {
            Err(de::Error::custom(R::MESSAGE))
        }

        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Text<R>, E> {
            Err(E::custom(R::MESSAGE))
        }

        reject_all_but!(R::MESSAGE; visit_bool(bool), visit_i64(i64), visit_u64(u64),
            visit_f64(f64), visit_unit(), visit_none());
    }
}

fn malformed(path: &Path, reason: &str) -> VaultError {
    VaultError::Malformed {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn decrypt_error(path: &Path, e: age::DecryptError, scrypt: bool) -> VaultError {
    use age::DecryptError as D;
    let path_buf = path.to_path_buf();
    match e {
        D::NoMatchingKeys => VaultError::NoMatchingIdentity { path: path_buf },
        D::DecryptionFailed | D::KeyDecryptionFailed if scrypt => {
            VaultError::WrongPassphrase { path: path_buf }
        }
        D::ExcessiveWork { required, .. } => VaultError::ExcessiveWork {
            path: path_buf,
            required,
            max: MAX_WORK_FACTOR,
        },
        D::KeyDecryptionFailed => VaultError::SshIdentityLocked { path: path_buf },
        D::UnknownFormat => malformed(path, "not an age file of a known version"),
        D::InvalidHeader | D::Io(_) => malformed(path, "not an age file (bad header or armor)"),
        D::InvalidMac => malformed(path, "the age header is damaged (MAC mismatch)"),
        D::DecryptionFailed => malformed(path, "the ciphertext is damaged"),
        _ => malformed(path, "cannot be decrypted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vault, VaultError> {
        parse(Path::new("/v/test.secrets.age"), text.as_bytes())
    }

    fn reason(text: &str) -> String {
        match parse_text(text) {
            Err(VaultError::Malformed { path, reason }) => {
                assert_eq!(path, Path::new("/v/test.secrets.age"));
                reason
            }
            other => panic!("expected Malformed for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn strings_of_every_yaml_style_are_accepted() {
        let v = parse_text(
            "hcloud_token: plain-CANARY\n\
             gateway_token: \"123\"\n\
             discord_bot_token: 'yes'\n\
             ssh_private_key: |\n  line one\n  line two\n",
        )
        .unwrap();
        assert_eq!(v.get("hcloud_token").unwrap().expose(), "plain-CANARY");
        assert_eq!(v.get("gateway_token").unwrap().expose(), "123");
        assert_eq!(v.get("discord_bot_token").unwrap().expose(), "yes");
        assert_eq!(
            v.get("ssh_private_key").unwrap().expose(),
            "line one\nline two\n"
        );
        assert!(parse_text("").unwrap().is_empty());
        assert!(parse_text("{}").unwrap().is_empty());
    }

    #[test]
    fn non_string_values_are_malformed_without_quoting_them() {
        for (text, expect) in [
            ("hcloud_token: 912345678\n", schema::VALUE_NOT_STRING),
            ("hcloud_token: true\n", schema::VALUE_NOT_STRING),
            ("hcloud_token:\n", schema::VALUE_NOT_STRING),
            ("hcloud_token: 1.5e9\n", schema::VALUE_NOT_STRING),
            ("hcloud_token: {a: CANARYNEST}\n", schema::VALUE_NOT_STRING),
            ("hcloud_token: [CANARYLIST]\n", schema::VALUE_NOT_STRING),
            ("912345678: x\n", schema::KEY_NOT_STRING),
            ("- CANARYSEQ\n", schema::NOT_A_MAP),
            ("CANARYSCALAR\n", schema::NOT_A_MAP),
            (
                "hcloud_token: a\nhcloud_token: CANARYDUP\n",
                schema::DUPLICATE,
            ),
        ] {
            let r = reason(text);
            assert!(r.starts_with(expect), "{text:?}: {r}");
            assert!(!r.contains("CANARY") && !r.contains("912345678"), "{r}");
        }
    }

    #[test]
    fn bad_yaml_and_bad_values_are_malformed_without_quoting_them() {
        let r = reason("hcloud_token: \"CANARYOPEN\n");
        assert!(!r.contains("CANARY"), "{r}");
        let r = reason("hcloud_token: \"CANARY\\nNEWLINE\"\n");
        assert!(
            r.contains("hcloud_token") && r.contains("line break"),
            "{r}"
        );
        assert!(!r.contains("CANARY"), "{r}");
        let r = reason("Bad-Name: CANARYVALUE\n");
        assert!(!r.contains("CANARY"), "{r}");
    }

    #[test]
    fn unknown_well_formed_names_survive_a_round_trip() {
        let v = parse_text("future_token: abc\nhcloud_token: x\n").unwrap();
        assert_eq!(
            v.keys().collect::<Vec<_>>(),
            ["future_token", "hcloud_token"]
        );
        let again =
            parse_text(std::str::from_utf8(&serialize(Path::new("x"), &v).unwrap().0).unwrap())
                .unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn serialization_round_trips_tricky_strings() {
        let mut v = Vault::new();
        for (k, val) in [
            ("hcloud_token", "123"),
            ("gateway_token", "true"),
            ("discord_bot_token", "null"),
            ("telegram_bot_token", "12345:AA-b_c: #x 'q' \"d\""),
            ("anthropic_api_key", " leading and trailing "),
            (
                "ssh_private_key",
                "-----BEGIN X-----\nabc\n-----END X-----\n",
            ),
        ] {
            v.set(k, Secret::new(val)).unwrap();
        }
        let text = serialize(Path::new("x"), &v).unwrap();
        assert_eq!(parse(Path::new("x"), &text.0).unwrap(), v);
    }

    #[test]
    fn plain_buf_keeps_all_bytes_across_growth() {
        let mut b = PlainBuf(Zeroizing::new(Vec::with_capacity(1)));
        for i in 0..1000u32 {
            b.write_all(&i.to_le_bytes()).unwrap();
        }
        assert_eq!(b.0.len(), 4000);
        assert_eq!(&b.0[4..8], &1u32.to_le_bytes());
    }
}
