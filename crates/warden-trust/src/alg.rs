//! The signature algorithms Warden accepts. `none` and every HMAC algorithm
//! are not representable: a token asking for them cannot even be named.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    Es256,
    Es384,
    EdDsa,
    Rs256,
    Ps256,
}

pub const ALL_ALGS: [JwsAlg; 5] = [
    JwsAlg::Es256,
    JwsAlg::Es384,
    JwsAlg::EdDsa,
    JwsAlg::Rs256,
    JwsAlg::Ps256,
];

impl JwsAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    /// Parses a JOSE `alg` name (case-sensitive, as JOSE is).
    pub fn parse(s: &str) -> Option<Self> {
        ALL_ALGS.iter().copied().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for JwsAlg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for JwsAlg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unsupported algorithm {s:?}: use ES256, ES384, EdDSA, RS256 or PS256"
            ))
        })
    }
}
