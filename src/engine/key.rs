//! The key an incident is known by: the pair (tenant, incident id) of PRODUCT.md §2, where
//! "no value of either can make two incidents one" (§5). Both halves are any text a record
//! carries, so no separator can join them; the pair is encoded instead, as the tenant's
//! length in bytes (decimal), `:`, the tenant, then the id: `4:acmeINC-1`, and `0:INC-1`
//! without a tenant. The same text is the changelog key of the incident (`engine/state.rs`).
//!
//! Invariants: a key is canonical (built here from a pair, or checked by [`KeyRef::parse`]),
//! so [`KeyRef::tenant`] and [`KeyRef::id`] give back exactly the pair it was built from, and
//! two pairs never share a key. An [`IncidentKey`] is one boxed string, 16 bytes inline like
//! the `Box<str>` it replaced: an incident costs no more memory than before.
//!
//! A record without a tenant and one with `tenant: ""` name the same tenant, `""`: the
//! `tenant` label PRODUCT.md §4 gives records without one.

use std::borrow::Borrow;
use std::fmt;

/// An incident's (tenant, id), owned: the key of the incident map and of [`super::Change`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentKey(Box<str>);

/// An incident's (tenant, id), borrowed: a lookup key built in a [`KeyBuf`], or a key read
/// from the changelog.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<'a>(&'a str);

impl IncidentKey {
    pub fn new(tenant: &str, id: &str) -> Self {
        let mut text = String::with_capacity(tenant.len() + id.len() + 4);
        encode(&mut text, tenant, id);
        Self(text.into_boxed_str())
    }

    pub fn as_key(&self) -> KeyRef<'_> {
        KeyRef(&self.0)
    }

    pub fn tenant(&self) -> &str {
        self.as_key().tenant()
    }

    pub fn id(&self) -> &str {
        self.as_key().id()
    }

    /// The encoded pair (`4:acmeINC-1`).
    pub fn encoded(&self) -> &str {
        &self.0
    }
}

/// Map lookups by a [`KeyRef`]'s encoded text; hashes and compares as that text.
impl Borrow<str> for IncidentKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IncidentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_key(), f)
    }
}

impl<'a> KeyRef<'a> {
    /// Reads an encoded pair; `None` unless it is canonical (length digits without a leading
    /// zero, `:`, and at least that many bytes ending on a character boundary).
    pub fn parse(encoded: &'a str) -> Option<Self> {
        let (digits, rest) = encoded.split_once(':')?;
        let canonical_digits = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        let length: usize = digits.parse().ok().filter(|_| canonical_digits)?;
        (length <= rest.len() && rest.is_char_boundary(length)).then_some(Self(encoded))
    }

    pub fn tenant(self) -> &'a str {
        self.split().0
    }

    pub fn id(self) -> &'a str {
        self.split().1
    }

    pub fn encoded(self) -> &'a str {
        self.0
    }

    pub fn to_key(self) -> IncidentKey {
        IncidentKey(Box::from(self.0))
    }

    /// (tenant, id). Keys are canonical by construction; the fallbacks are never taken.
    fn split(self) -> (&'a str, &'a str) {
        let Some((digits, rest)) = self.0.split_once(':') else {
            return ("", self.0);
        };
        let length = digits.parse().unwrap_or(0);
        match (rest.get(..length), rest.get(length..)) {
            (Some(tenant), Some(id)) => (tenant, id),
            _ => ("", rest),
        }
    }
}

impl fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IncidentKey")
            .field(&self.tenant())
            .field(&self.id())
            .finish()
    }
}

/// Builds lookup keys in one reused buffer, so applying an event allocates no key.
#[derive(Debug, Default)]
pub struct KeyBuf(String);

impl KeyBuf {
    /// The key of `id` of `tenant` (none: `""`).
    pub fn key(&mut self, tenant: Option<&str>, id: &str) -> KeyRef<'_> {
        self.0.clear();
        encode(&mut self.0, tenant.unwrap_or(""), id);
        KeyRef(&self.0)
    }
}

fn encode(out: &mut String, tenant: &str, id: &str) {
    match tenant.len() {
        0 => out.push_str("0:"),
        length => {
            use fmt::Write as _;
            let _ = write!(out, "{length}:");
        }
    }
    out.push_str(tenant);
    out.push_str(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_encodes_to_one_key_and_back() {
        for (tenant, id, encoded) in [
            ("", "INC-1", "0:INC-1"),
            ("acme", "INC-1", "4:acmeINC-1"),
            ("acme\u{1f}INC", "1", "8:acme\u{1f}INC1"),
            ("acme", "INC\u{1f}1", "4:acmeINC\u{1f}1"),
            ("", "acme\u{1f}INC-1", "0:acme\u{1f}INC-1"),
            ("4:acme", "INC-1", "6:4:acmeINC-1"),
            ("Zürich", "Ω-7", "7:ZürichΩ-7"),
            ("", "", "0:"),
        ] {
            let key = IncidentKey::new(tenant, id);
            assert_eq!(key.encoded(), encoded);
            assert_eq!((key.tenant(), key.id()), (tenant, id));
            let parsed = KeyRef::parse(encoded).expect("canonical");
            assert_eq!((parsed.tenant(), parsed.id()), (tenant, id));
            assert_eq!(parsed.to_key(), key);
            assert_eq!(KeyBuf::default().key(Some(tenant), id), key.as_key());
        }
        assert_eq!(
            KeyBuf::default().key(None, "INC-1"),
            IncidentKey::new("", "INC-1").as_key(),
            "no tenant is the tenant \"\""
        );
    }

    #[test]
    fn the_pairs_of_finding_3_are_four_keys() {
        let keys = std::collections::BTreeSet::from([
            IncidentKey::new("acme", "INC-1"),
            IncidentKey::new("", "acme\u{1f}INC-1"),
            IncidentKey::new("acme\u{1f}INC", "1"),
            IncidentKey::new("acme", "INC\u{1f}1"),
        ]);
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn only_canonical_keys_parse() {
        for bad in [
            "INC-1",
            "acme\u{1f}INC-1",
            ":INC-1",
            "04:acmeINC-1",
            "+4:acmeINC-1",
            "9:acme",
            "1:ü",
            "x:acme",
        ] {
            assert_eq!(KeyRef::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_key_is_as_small_as_the_box_it_replaced() {
        assert_eq!(
            std::mem::size_of::<IncidentKey>(),
            std::mem::size_of::<Box<str>>()
        );
    }
}
