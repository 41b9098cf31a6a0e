//! SMS keywords: which class an inbound message belongs to. Matching is on the whole
//! message, trimmed and case-insensitive, so "stop" stops but "please stop" does not.

use super::catalog::Profile;

/// Standard opt-out keywords (carrier and CTIA practice).
pub const STOP_KEYWORDS: [&str; 8] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"];
/// Standard keywords that lift an SMS stop.
pub const START_KEYWORDS: [&str; 3] = ["START", "YES", "UNSTOP"];
/// Keywords that ask for help and change nothing.
pub const HELP_KEYWORDS: [&str; 2] = ["HELP", "INFO"];

/// Longest profile keyword accepted.
pub const KEYWORD_CHARS_MAX: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeywordClass {
    None,
    Stop,
    Start,
    Help,
}

/// The normalized form a keyword is compared in.
pub fn normalize_keyword(s: &str) -> String {
    s.trim().to_uppercase()
}

/// Classifies an inbound message for `profile`, returning the class and the keyword as
/// matched. Stop wins if a profile lists a word in both of its lists.
pub fn classify(body: &str, profile: &Profile) -> (KeywordClass, String) {
    let word = normalize_keyword(body);
    let is = |standard: &[&str], extra: &[String]| standard.contains(&word.as_str()) || extra.contains(&word);
    let class = if is(&STOP_KEYWORDS, &profile.extra_stop_keywords) {
        KeywordClass::Stop
    } else if is(&START_KEYWORDS, &profile.extra_start_keywords) {
        KeywordClass::Start
    } else if is(&HELP_KEYWORDS, &[]) {
        KeywordClass::Help
    } else {
        return (KeywordClass::None, String::new());
    };
    (class, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_message_trimmed_case_insensitive() {
        let mut p = Profile::new("acme");
        p.extra_stop_keywords = vec!["AFMELDEN".into(), "ABMELDEN".into()];
        assert_eq!(classify("  stop \n", &p), (KeywordClass::Stop, "STOP".into()));
        assert_eq!(classify("StopAll", &p).0, KeywordClass::Stop);
        assert_eq!(classify("afmelden", &p).0, KeywordClass::Stop);
        assert_eq!(classify("Unstop", &p).0, KeywordClass::Start);
        assert_eq!(classify("yes", &p).0, KeywordClass::Start);
        assert_eq!(classify("info", &p).0, KeywordClass::Help);
        assert_eq!(classify("please stop", &p).0, KeywordClass::None);
        assert_eq!(classify("", &p).0, KeywordClass::None);
        assert_eq!(classify("afmelden", &Profile::new("other")).0, KeywordClass::None);
        for k in STOP_KEYWORDS {
            assert_eq!(classify(&k.to_lowercase(), &p).0, KeywordClass::Stop);
        }
    }
}
