//! Contact point parsing and normalization: email addresses, E.164 phone numbers and
//! opaque device tokens. Pure functions; the same person typed two ways must come out as
//! one contact point, so every read and write goes through [`normalize`].
//!
//! At the bottom of the crate: it depends on nothing in it. Which [`Kind`] a channel
//! delivers to is the decision model's business (`decision::Channel::contact_kind`).

use std::str::FromStr;

use email_address::EmailAddress;

mod e164;

/// Longest email address accepted (RFC 5321 path limit minus the angle brackets).
pub const EMAIL_BYTES_MAX: usize = 254;
/// Longest raw phone input accepted before parsing.
pub const PHONE_INPUT_BYTES_MAX: usize = 64;
/// Longest push or custom token accepted (FCM tokens are ~163 bytes; room to spare).
pub const TOKEN_BYTES_MAX: usize = 512;

/// A normalized contact point.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Normalized(String);

impl Normalized {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Why a contact point is not valid for its channel. Messages never repeat the value:
/// callers decide whether (and how) to show it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("contact point is empty")]
    Empty,
    #[error("contact point is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("not a syntactically valid email address")]
    InvalidEmail,
    #[error("not a possible phone number")]
    InvalidPhone,
    #[error("phone number has no country code and the profile has no default region")]
    NoRegion,
    #[error("token contains whitespace or control characters")]
    InvalidToken,
}

/// The form of contact point a channel delivers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Email,
    Phone,
    Token,
}

/// Normalizes `raw` as a contact point of `kind`. `default_region` (ISO 3166-1 alpha-2) is
/// used for phone numbers written without a country code.
pub fn normalize(kind: Kind, raw: &str, default_region: Option<&str>) -> Result<Normalized, ContactError> {
    match kind {
        Kind::Email => normalize_email(raw),
        Kind::Phone => normalize_phone(raw, default_region),
        Kind::Token => normalize_token(raw),
    }
}

/// Trims, lower-cases the whole address (senders treat addresses case-insensitively) and
/// checks RFC 5321/5322 syntax. Dots and `+tags` are kept: they may reach different
/// mailboxes and are the person's own choice.
pub fn normalize_email(raw: &str) -> Result<Normalized, ContactError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ContactError::Empty);
    }
    if trimmed.len() > EMAIL_BYTES_MAX {
        return Err(ContactError::TooLong { max: EMAIL_BYTES_MAX });
    }
    if let Some(fast) = simple_ascii_email(trimmed) {
        return Ok(fast);
    }
    let lower = trimmed.to_lowercase();
    // Display forms ("Name <a@b>") parse in the crate but are not an address.
    if lower.contains(['<', '>']) || lower.len() > EMAIL_BYTES_MAX {
        return Err(ContactError::InvalidEmail);
    }
    match EmailAddress::from_str(&lower) {
        Ok(addr) if addr.as_str() == lower && addr.domain().contains('.') => Ok(Normalized(lower)),
        _ => Err(ContactError::InvalidEmail),
    }
}

/// The common case without the general parser: plain ASCII dot-atom local part and a
/// hostname of two or more labels. Only ever accepts (returns `None` for anything else,
/// which then takes the full RFC 5321/5322 path); a property test checks that everything
/// it accepts the full path accepts identically. Several times faster on the hot path.
fn simple_ascii_email(s: &str) -> Option<Normalized> {
    let mut buf = [0u8; EMAIL_BYTES_MAX];
    let n = lower_simple_email(s.as_bytes(), &mut buf)?;
    // Only ASCII passes, so this cannot fail.
    std::str::from_utf8(&buf[..n]).ok().map(|l| Normalized(l.to_owned()))
}

/// Byte classes of the simple address: `atext` (RFC 5322, ASCII) and hostname characters.
const ATEXT: u8 = 1;
const HOST: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] = ATEXT | HOST;
        }
        c += 1;
    }
    let specials = b"!#$%&'*+/=?^_`{|}~-";
    let mut i = 0;
    while i < specials.len() {
        t[specials[i] as usize] |= ATEXT;
        i += 1;
    }
    t[b'-' as usize] |= HOST;
    t
};

/// The test of the simple address and its lower-casing in one pass over the bytes, into
/// `out`; gives the length written. Exactly one `@`; a local part of 1 to 64 bytes of
/// dot-separated, non-empty atoms of `atext`; a domain of at most 253 bytes and two or more
/// labels of 1 to 63 letters, digits and inner hyphens.
#[inline]
fn lower_simple_email(s: &[u8], out: &mut [u8; EMAIL_BYTES_MAX]) -> Option<usize> {
    if s.is_empty() || s.len() > EMAIL_BYTES_MAX {
        return None;
    }
    let mut i = 0;
    // The local part: no leading, trailing or doubled dot.
    let mut prev_dot = true;
    loop {
        let c = *s.get(i)?;
        if c == b'@' {
            break;
        }
        if c == b'.' {
            if prev_dot {
                return None;
            }
            prev_dot = true;
        } else if CLASS[usize::from(c)] & ATEXT != 0 {
            prev_dot = false;
        } else {
            return None;
        }
        out[i] = c.to_ascii_lowercase();
        i += 1;
    }
    if i == 0 || i > 64 || prev_dot {
        return None;
    }
    out[i] = b'@';
    i += 1;
    if s.len() - i > 253 {
        return None;
    }
    // The domain: labels of 1 to 63 bytes, no hyphen at either end.
    let (mut labels, mut label_len, mut last) = (0u32, 0usize, b'.');
    while i < s.len() {
        let c = s[i];
        if c == b'.' {
            if label_len == 0 || last == b'-' {
                return None;
            }
            labels += 1;
            label_len = 0;
        } else if CLASS[usize::from(c)] & HOST != 0 {
            if label_len == 0 && c == b'-' {
                return None;
            }
            label_len += 1;
            if label_len > 63 {
                return None;
            }
        } else {
            return None;
        }
        out[i] = c.to_ascii_lowercase();
        last = c;
        i += 1;
    }
    (label_len > 0 && last != b'-' && labels >= 1).then_some(i)
}

/// Calls `f` with the normalized form of `raw` as a contact point of `kind`: the same as
/// `normalize(kind, raw, region).map(|n| f(n.as_str()))`, without a heap allocation for
/// the common email address (lower-cased into a buffer on the stack). The bulk check's path.
pub fn with_normalized<R>(
    kind: Kind,
    raw: &str,
    default_region: Option<&str>,
    f: impl FnOnce(&str) -> R,
) -> Result<R, ContactError> {
    if kind == Kind::Email {
        let mut buf = [0u8; EMAIL_BYTES_MAX];
        if let Some(n) = lower_simple_email(raw.trim().as_bytes(), &mut buf)
            // Only ASCII passes, so this cannot fail.
            && let Ok(s) = std::str::from_utf8(&buf[..n])
        {
            return Ok(f(s));
        }
    }
    normalize(kind, raw, default_region).map(|n| f(n.as_str()))
}

/// The full path of [`normalize_email`], without the fast path; for tests.
#[cfg(test)]
fn normalize_email_slow(raw: &str) -> Result<Normalized, ContactError> {
    let lower = raw.trim().to_lowercase();
    if lower.contains(['<', '>']) || lower.len() > EMAIL_BYTES_MAX {
        return Err(ContactError::InvalidEmail);
    }
    match EmailAddress::from_str(&lower) {
        Ok(addr) if addr.as_str() == lower && addr.domain().contains('.') => Ok(Normalized(lower)),
        _ => Err(ContactError::InvalidEmail),
    }
}

/// Parses to E.164. `00` and `+` international prefixes are understood; numbers without a
/// country code use `default_region`. Numbers that cannot exist are refused.
pub fn normalize_phone(raw: &str, default_region: Option<&str>) -> Result<Normalized, ContactError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ContactError::Empty);
    }
    if trimmed.len() > PHONE_INPUT_BYTES_MAX {
        return Err(ContactError::TooLong { max: PHONE_INPUT_BYTES_MAX });
    }
    if !trimmed.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/')) {
        return Err(ContactError::InvalidPhone);
    }
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let region = match default_region {
        Some(r) => Some(parse_region(r).ok_or(ContactError::NoRegion)?),
        None if international => None,
        None => return Err(ContactError::NoRegion),
    };
    if let Some(e164) = e164::fast(trimmed) {
        return Ok(Normalized(e164.to_owned()));
    }
    full_phone(trimmed, region)
}

/// The general parser's path of [`normalize_phone`], for any input it allows.
fn full_phone(trimmed: &str, region: Option<phonenumber::country::Id>) -> Result<Normalized, ContactError> {
    // Without a region the library does not know the `00` prefix; rewrite it as `+`.
    let input = match (region, trimmed.strip_prefix("00")) {
        (None, Some(rest)) => format!("+{rest}"),
        _ => trimmed.to_owned(),
    };
    let number = phonenumber::parse(region, &input).map_err(|_| ContactError::InvalidPhone)?;
    if !phonenumber::is_valid(&number) {
        return Err(ContactError::InvalidPhone);
    }
    Ok(Normalized(number.format().mode(phonenumber::Mode::E164).to_string()))
}

/// The region code, if the library knows it.
pub fn parse_region(region: &str) -> Option<phonenumber::country::Id> {
    // Every check of a phone number asks this; a table beats the library's string match.
    static REGIONS: std::sync::LazyLock<std::collections::HashMap<String, phonenumber::country::Id>> =
        std::sync::LazyLock::new(|| {
            phonenumber::metadata::DATABASE
                .iter()
                .filter_map(|m| Some((m.id().to_owned(), phonenumber::country::Id::from_str(m.id()).ok()?)))
                .collect()
        });
    let r = region.trim();
    if let Some(id) = REGIONS.get(r) {
        return Some(*id);
    }
    phonenumber::country::Id::from_str(&r.to_ascii_uppercase()).ok()
}

/// Opaque tokens are kept as given (case matters in most token schemes), trimmed, with a
/// length limit and no whitespace or control characters inside.
pub fn normalize_token(raw: &str) -> Result<Normalized, ContactError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ContactError::Empty);
    }
    if trimmed.len() > TOKEN_BYTES_MAX {
        return Err(ContactError::TooLong { max: TOKEN_BYTES_MAX });
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ContactError::InvalidToken);
    }
    Ok(Normalized(trimmed.to_owned()))
}

#[cfg(test)]
mod tests;
