//! The strict reader behind [`super::canonicalize`]: raw bytes to a tree that
//! keeps what canonicalisation needs and `serde_json` would lose or blur.
//!
//! Why not `warden_json::parse_strict`: it goes through `serde_json`, whose
//! default float parser is only "best effort" (it can be one ULP off without
//! the `float_roundtrip` feature), so two honest implementations could
//! canonicalise the same number text differently. Here every number is
//! parsed by `str::parse::<f64>`, which rounds correctly, straight from its
//! source text. Everything else is refused rather than repaired: invalid
//! UTF-8, lone surrogates, duplicate keys (after unescaping), a BOM,
//! trailing data, excess depth and oversize strings.

use super::{JcsError, JcsLimits};

/// A parsed JSON value. Object members keep their received order; sorting is
/// the serialiser's job, because the two canonical forms sort differently.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// Always finite: out-of-range numbers are refused while parsing.
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Parses one JSON text under `limits`.
pub(crate) fn parse(bytes: &[u8], limits: JcsLimits) -> Result<Json, JcsError> {
    if bytes.len() > limits.max_bytes {
        return Err(JcsError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| JcsError::InvalidUtf8)?;
    let mut reader = Reader {
        text,
        pos: 0,
        limits,
    };
    reader.skip_whitespace();
    let value = reader.value(1)?;
    reader.skip_whitespace();
    if reader.pos != text.len() {
        return Err(reader.syntax("trailing data after the JSON value"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    limits: JcsLimits,
}

impl Reader<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn syntax(&self, what: &'static str) -> JcsError {
        JcsError::Syntax {
            offset: self.pos,
            what,
        }
    }

    /// JSON whitespace only (RFC 8259 §2): no BOM, no Unicode spaces.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &'static str) -> Result<(), JcsError> {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.syntax("invalid literal"))
        }
    }

    /// `depth` is the nesting level of the value about to be read (the top
    /// level is 1); only containers count against the limit.
    fn value(&mut self, depth: usize) -> Result<Json, JcsError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.expect_literal("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.expect_literal("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.expect_literal("null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.syntax("expected a JSON value")),
            None => Err(self.syntax("unexpected end of input")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JcsError> {
        if depth > self.limits.max_depth {
            return Err(JcsError::TooDeep(self.limits.max_depth));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Json, JcsError> {
        self.enter(depth)?;
        self.pos += 1; // '{'
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected an object key"));
            }
            let key = self.string()?;
            // Linear scan: cards have few members per object, and a HashSet
            // would cost more than it saves at these sizes.
            if members.iter().any(|(k, _)| *k == key) {
                return Err(JcsError::DuplicateKey(key));
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected ':' after an object key"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.syntax("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JcsError> {
        self.enter(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.syntax("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, JcsError> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.pos += 1;
            }
            r.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.syntax("invalid number fraction"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.syntax("invalid number exponent"));
            }
        }
        let source = &self.text[start..self.pos];
        if source.len() > self.limits.max_string_bytes {
            return Err(JcsError::StringTooLong(self.limits.max_string_bytes));
        }
        // The grammar above is a subset of what `f64::from_str` accepts, and
        // that parser rounds to nearest, ties to even, like ECMAScript's.
        match source.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Json::Number(x)),
            _ => Err(JcsError::NumberOutOfRange { offset: start }),
        }
    }

    /// Reads a string token (the reader is on its opening quote).
    fn string(&mut self) -> Result<String, JcsError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control
            // character as is: the input is already known to be UTF-8, and
            // those three bytes never occur inside a multi-byte sequence.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            if out.len() > self.limits.max_string_bytes {
                return Err(JcsError::StringTooLong(self.limits.max_string_bytes));
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.syntax("unescaped control character in a string")),
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    /// One escape sequence, the backslash already consumed.
    fn escape(&mut self) -> Result<char, JcsError> {
        let Some(b) = self.peek() else {
            return Err(self.syntax("unterminated escape"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(self.syntax("invalid escape")),
        };
        Ok(c)
    }

    /// `\uXXXX`, joining a surrogate pair; a lone surrogate has no UTF-8
    /// form, so it is refused rather than replaced.
    fn unicode_escape(&mut self) -> Result<char, JcsError> {
        let at = self.pos.saturating_sub(2);
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(JcsError::LoneSurrogate { offset: at });
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(JcsError::LoneSurrogate { offset: at });
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(JcsError::LoneSurrogate { offset: at }),
            other => other,
        };
        char::from_u32(code).ok_or(JcsError::LoneSurrogate { offset: at })
    }

    fn hex4(&mut self) -> Result<u32, JcsError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.syntax("invalid \\u escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.syntax("invalid \\u escape"))
    }
}
