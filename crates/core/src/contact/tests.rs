use super::*;

fn email(s: &str) -> Result<String, ContactError> {
    normalize_email(s).map(Normalized::into_string)
}

fn phone(s: &str, region: Option<&str>) -> Result<String, ContactError> {
    normalize_phone(s, region).map(Normalized::into_string)
}

#[test]
fn email_is_trimmed_and_lower_cased_keeping_dots_and_tags() {
    assert_eq!(email("  Jane.Doe+News@Example.COM \n").as_deref(), Ok("jane.doe+news@example.com"));
    assert_eq!(email("a@b.nl").as_deref(), Ok("a@b.nl"));
}

#[test]
fn same_person_two_ways_is_one_contact_point() {
    assert_eq!(email("JANE@example.com"), email(" jane@EXAMPLE.com"));
    assert_eq!(phone("+31 6 12345678", None), phone("0612345678", Some("NL")));
    assert_eq!(phone("0031612345678", Some("DE")), phone("+31612345678", None));
}

#[test]
fn bad_emails_are_refused() {
    for bad in [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "jane@",
        "jane@@example.com",
        "jane doe@example.com",
        "Jane <jane@example.com>",
        "jane@localhost",
        "jane@exa mple.com",
    ] {
        assert!(email(bad).is_err(), "accepted {bad:?}");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    assert_eq!(email(&long), Err(ContactError::TooLong { max: EMAIL_BYTES_MAX }));
}

#[test]
fn unicode_emails_are_lower_cased_whole() {
    // RFC 6531 local parts are accepted and lower-cased like ASCII ones.
    let got = email("JÖRG@Example.de");
    assert_eq!(got.as_deref(), Ok("jörg@example.de"));
}

#[test]
fn phone_prefixes_and_regions() {
    assert_eq!(phone("+31612345678", None).as_deref(), Ok("+31612345678"));
    assert_eq!(phone("0031612345678", None).as_deref(), Ok("+31612345678"));
    assert_eq!(phone("06-1234 5678", Some("NL")).as_deref(), Ok("+31612345678"));
    assert_eq!(phone("(030) 901820", Some("DE")).as_deref(), Ok("+4930901820"));
    assert_eq!(phone("01512 3456789", Some("de")).as_deref(), Ok("+4915123456789"));
    assert_eq!(phone("  +49 1512 3456789  ", Some("NL")).as_deref(), Ok("+4915123456789"));
}

#[test]
fn impossible_phone_numbers_are_refused() {
    assert_eq!(phone("0612345678", None), Err(ContactError::NoRegion));
    assert_eq!(phone("+31 6 123", None), Err(ContactError::InvalidPhone));
    assert_eq!(phone("+999 123456789", None), Err(ContactError::InvalidPhone));
    assert_eq!(phone("12", Some("NL")), Err(ContactError::InvalidPhone));
    assert_eq!(phone("+31 6 CALLME", None), Err(ContactError::InvalidPhone));
    assert_eq!(phone("", Some("NL")), Err(ContactError::Empty));
    assert!(matches!(phone(&"1".repeat(100), Some("NL")), Err(ContactError::TooLong { .. })));
    assert_eq!(phone("0612345678", Some("XX")), Err(ContactError::NoRegion));
    assert_eq!(phone("+३१६१२३४५६७८", None), Err(ContactError::InvalidPhone));
}

#[test]
fn tokens_are_kept_as_given_within_limits() {
    assert_eq!(normalize_token("  fcm:AbC-123_xyz  ").map(Normalized::into_string).as_deref(), Ok("fcm:AbC-123_xyz"));
    assert_eq!(normalize_token(""), Err(ContactError::Empty));
    assert_eq!(normalize_token("a b"), Err(ContactError::InvalidToken));
    assert_eq!(normalize_token("a\u{0}b"), Err(ContactError::InvalidToken));
    assert_eq!(normalize_token(&"x".repeat(513)), Err(ContactError::TooLong { max: TOKEN_BYTES_MAX }));
    assert!(normalize_token(&"x".repeat(512)).is_ok());
}

#[test]
fn kind_picks_the_parser() {
    assert!(normalize(Kind::Email, "a@b.com", None).is_ok());
    assert!(normalize(Kind::Phone, "a@b.com", Some("NL")).is_err());
    assert!(normalize(Kind::Phone, "+31612345678", None).is_ok());
    assert!(normalize(Kind::Token, "a@b.com", None).is_ok());
}

proptest::proptest! {
    /// Whatever the fast path accepts, the full parser accepts with the same result.
    #[test]
    fn fast_email_path_agrees_with_the_full_parser(s in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~@\"(),:;<>\\\\-]{1,12}@?[a-zA-Z0-9._-]{0,12}") {
        if let Some(fast) = simple_ascii_email(&s) {
            proptest::prop_assert_eq!(Ok(fast), normalize_email_slow(&s), "input {:?}", s);
        }
    }
}

proptest::proptest! {
    /// The allocation-free path gives what `normalize` gives, for every kind of input.
    #[test]
    fn with_normalized_agrees_with_normalize(s in "[ \t\u{a0}]?[ a-zA-Z0-9.!#$%&'*+/=?^_`{|}~@-]{0,14}@?[a-zA-Z0-9.-]{0,14}[ \n\u{a0}\u{2003}]?") {
        for kind in [Kind::Email, Kind::Token] {
            let direct = normalize(kind, &s, None).map(Normalized::into_string);
            proptest::prop_assert_eq!(with_normalized(kind, &s, None, str::to_owned), direct, "input {:?}", s);
        }
    }
}

/// The two-pass test the one-pass [`lower_simple_email`] replaced, kept as its reference.
fn simple_ascii_email_reference(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let at = b.iter().position(|c| *c == b'@')?;
    let (local, domain) = (&b[..at], &b[at + 1..]);
    let atext = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&c);
    if local.is_empty() || local.len() > 64 || local[0] == b'.' || local[local.len() - 1] == b'.' {
        return None;
    }
    if local.windows(2).any(|w| w == b"..") || !local.iter().all(|c| *c == b'.' || atext(*c)) {
        return None;
    }
    if domain.is_empty() || domain.len() > 253 {
        return None;
    }
    let labels: Vec<&[u8]> = domain.split(|c| *c == b'.').collect();
    let label_ok = |l: &[u8]| {
        !l.is_empty()
            && l.len() <= 63
            && l[0] != b'-'
            && l[l.len() - 1] != b'-'
            && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    (labels.len() >= 2 && labels.iter().all(|l| label_ok(l)) && s.len() <= EMAIL_BYTES_MAX)
        .then(|| s.to_ascii_lowercase())
}

proptest::proptest! {
    /// The one-pass test and lower-casing accepts exactly what the two-pass reference does,
    /// with the same result, also at the length limits of a local part and a label.
    #[test]
    fn one_pass_email_path_agrees_with_its_reference(
        s in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~@\"(),:;<> \u{e9}-]{0,12}@?[a-zA-Z0-9._@-]{0,12}",
        local_pad in 0usize..70,
        label_pad in 0usize..70,
    ) {
        let padded = format!("{}{s}{}", "a".repeat(local_pad), if label_pad > 0 { format!(".{}", "b".repeat(label_pad)) } else { String::new() });
        for input in [s.as_str(), padded.as_str()] {
            proptest::prop_assert_eq!(
                simple_ascii_email(input).map(Normalized::into_string),
                simple_ascii_email_reference(input),
                "input {:?}", input
            );
        }
    }
}

#[test]
fn fast_email_path_takes_the_common_case() {
    assert!(simple_ascii_email("Jane.Doe+news@Example.co.uk").is_some());
    assert!(simple_ascii_email("jane@localhost").is_none());
    assert!(simple_ascii_email("j..d@example.com").is_none());
    assert!(simple_ascii_email("\"j d\"@example.com").is_none());
    assert!(simple_ascii_email("jörg@example.de").is_none());
}

/// Every example number of libphonenumber's metadata as E.164: (country code, national).
fn metadata_examples() -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for meta in phonenumber::metadata::DATABASE.iter() {
        let d = meta.descriptors();
        let types = [d.fixed_line(), d.mobile(), d.toll_free(), d.premium_rate(), d.voip(), d.uan(), d.pager()];
        for desc in types.into_iter().flatten() {
            if let Some(example) = desc.example() {
                out.push((meta.country_code(), example.to_owned()));
            }
        }
    }
    out
}

/// What the full parser makes of `s` with no default region.
fn full(s: &str) -> Result<Normalized, ContactError> {
    full_phone(s, None)
}

#[test]
fn e164_fast_path_takes_most_real_numbers_and_agrees() {
    let examples = metadata_examples();
    let (mut taken, mut valid) = (0, 0);
    for (code, national) in &examples {
        let s = format!("+{code}{national}");
        let slow = full(&s);
        if slow.is_ok() {
            valid += 1;
        }
        if let Some(fast) = e164::fast(&s) {
            taken += 1;
            assert_eq!(Ok(fast), slow.as_ref().map(Normalized::as_str), "{s}");
        }
    }
    eprintln!("fast path took {taken} of {valid} valid example numbers ({} examples)", examples.len());
    // The path is worth having only if it takes nearly every valid number it is shown.
    assert!(taken * 100 >= valid * 90, "fast path took {taken} of {valid} valid example numbers");
    for s in ["+31612345678", "+447912345678", "+14155552671", "+4915123456789", "+390236618300"] {
        assert_eq!(e164::fast(s), Some(s), "{s}");
    }
    for s in ["+3106123456789", "+31 612345678", "31612345678", "+", "+0123456789", "+999123456789"] {
        assert_eq!(e164::fast(s), None, "{s}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10_000))]
    /// Metadata examples with digits changed, added or removed: whatever the fast path
    /// accepts, the full parser accepts as the same number.
    #[test]
    fn e164_fast_path_agrees_with_the_parser(
        pick in 0usize..100_000,
        edits in proptest::collection::vec((0usize..20, 0u8..10, 0u8..3), 0..3),
        random in "\\+[0-9]{6,18}",
    ) {
        let examples = EXAMPLES.get_or_init(metadata_examples);
        let (code, national) = &examples[pick % examples.len()];
        let mut digits: Vec<u8> = format!("{code}{national}").into_bytes();
        for (at, digit, op) in edits {
            let at = at % (digits.len() + 1);
            match op {
                0 if at < digits.len() => digits[at] = b'0' + digit,
                1 => digits.insert(at, b'0' + digit),
                _ if at < digits.len() => { digits.remove(at); }
                _ => {}
            }
        }
        for s in [format!("+{}", String::from_utf8(digits).unwrap_or_default()), random] {
            if let Some(fast) = e164::fast(&s) {
                let slow = full(&s);
                proptest::prop_assert_eq!(Ok(fast), slow.as_ref().map(Normalized::as_str), "input {:?}", s);
                proptest::prop_assert_eq!(normalize_phone(&s, Some("NL")).map(Normalized::into_string), Ok(s.clone()));
            }
        }
    }
}

static EXAMPLES: std::sync::OnceLock<Vec<(u16, String)>> = std::sync::OnceLock::new();
