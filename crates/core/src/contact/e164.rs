//! The fast path of phone normalization: a number already written in E.164 (`+` and 8 to 20
//! digits, what bulk SMS senders send) checked against libphonenumber's own metadata without
//! the general parser.
//!
//! The `phonenumber` crate spends most of its ~7 µs per number in the parser and in its
//! regex cache, which looks every pattern up by its source text behind one process-wide
//! mutex. Here a region's patterns are compiled on first use into anchored dense DFAs (ASCII
//! digits only, so they stay small), and per (region, length) the number-type patterns that
//! allow that length are joined into one alternation: a number costs a country-code lookup
//! and two DFA walks over its digits.
//!
//! It only ever accepts: anything it is not sure of (a national prefix the parser might
//! strip, an unknown country code, a pattern that does not compile, any other shape) goes to
//! the full parser. A property test checks that what it accepts, the full parser accepts
//! identically.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::Metadata;
use phonenumber::metadata::{DATABASE, Descriptor};
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

/// Longest national significant number libphonenumber allows.
const NATIONAL_MAX: usize = 17;

type Dfa = dense::DFA<Vec<u32>>;

/// An anchored DFA of a metadata pattern. The sources are laid out over lines (whitespace is
/// not part of them) and only ever see ASCII digits.
fn dfa(source: &str) -> Option<Dfa> {
    dense::Builder::new()
        .syntax(syntax::Config::new().ignore_whitespace(true).unicode(false).utf8(false))
        .configure(dense::Config::new().start_kind(StartKind::Anchored).dfa_size_limit(Some(16 << 20)))
        .build(source)
        .ok()
}

/// The end of the leftmost-first match starting at 0, if any.
fn match_end(d: &Dfa, s: &str) -> Option<usize> {
    d.try_search_fwd(&Input::new(s).anchored(Anchored::Yes)).ok().flatten().map(|m| m.offset())
}

/// Whether some match starts at 0 (what the crate's `find(..).start() == 0` asks).
fn matches_at_start(d: &Dfa, s: &str) -> bool {
    d.try_search_fwd(&Input::new(s).anchored(Anchored::Yes).earliest(true)).ok().flatten().is_some()
}

/// One region's rules; patterns compiled on first use.
struct Region {
    leading_digits: Option<String>,
    /// The national prefix (for parsing) the parser might strip.
    national_prefix: Option<String>,
    general: (Vec<u16>, String),
    /// The number-type descriptors (mobile, fixed line, toll free, ...): lengths and source.
    types: Vec<(Vec<u16>, String)>,
    general_dfa: OnceLock<Option<Dfa>>,
    /// Per national-number length: the types allowing it, as one alternation.
    by_length: [OnceLock<Option<Dfa>>; NATIONAL_MAX + 1],
}

fn allows(lengths: &[u16], len: usize) -> bool {
    lengths.is_empty() || lengths.contains(&(len as u16))
}

fn rule(d: &Descriptor) -> (Vec<u16>, String) {
    (d.possible_length().to_vec(), d.national_number().as_str().to_owned())
}

impl Region {
    fn new(meta: &Metadata) -> Region {
        let d = meta.descriptors();
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ];
        let national_prefix = match (meta.national_prefix_for_parsing(), meta.national_prefix()) {
            (Some(p), _) => Some(format!("(?:{})", p.as_str())),
            (None, Some(p)) if !p.is_empty() => Some(regex_syntax_escape(p)),
            _ => None,
        };
        Region {
            leading_digits: meta.leading_digits().map(|l| format!("(?:{})", l.as_str())),
            national_prefix,
            general: rule(d.general()),
            types: types.into_iter().flatten().map(rule).collect(),
            general_dfa: OnceLock::new(),
            by_length: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// libphonenumber's "number type is not unknown"; `None` when a pattern did not compile.
    fn valid(&self, national: &str) -> Option<bool> {
        let len = national.len();
        if !allows(&self.general.0, len) {
            return Some(false);
        }
        let general = self.general_dfa.get_or_init(|| dfa(&self.general.1)).as_ref()?;
        if !matches_at_start(general, national) {
            return Some(false);
        }
        let joined = self.by_length[len].get_or_init(|| {
            let mut alts: Vec<String> = Vec::new();
            for (_, source) in self.types.iter().filter(|(l, _)| allows(l, len)) {
                // Fixed line and mobile are often one pattern (NANP): match it once.
                let alt = format!("(?:{source})");
                if !alts.contains(&alt) {
                    alts.push(alt);
                }
            }
            if alts.is_empty() { None } else { dfa(&alts.join("|")) }
        });
        // No type allows this length: not valid (a failed build is the same `None`, and
        // then the full parser decides).
        match joined {
            Some(d) => Some(matches_at_start(d, national)),
            None if self.types.iter().any(|(l, _)| allows(l, len)) => None,
            None => Some(false),
        }
    }
}

/// A literal as a pattern.
fn regex_syntax_escape(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

/// One country code: its regions in the database's order, the distinct national prefixes
/// of those regions, and (with several regions) the regions' leading-digit patterns.
struct Code {
    regions: Vec<Region>,
    prefixes: Vec<Dfa>,
    /// Per region, the DFA of its leading digits (codes shared by several regions).
    leading: Vec<Option<Dfa>>,
    /// A pattern of the code did not compile: every number goes to the full parser.
    broken: bool,
}

/// Country codes are below 1000: indexed directly.
static CODES: LazyLock<Vec<Option<Code>>> = LazyLock::new(|| {
    let mut codes: HashMap<u16, Code> = HashMap::new();
    for meta in DATABASE.iter() {
        let code = meta.country_code();
        if codes.contains_key(&code) {
            continue;
        }
        let regions: Vec<Region> = match DATABASE.region(&code) {
            Some(ids) if ids.len() == 1 && ids[0] == "001" => {
                DATABASE.by_code(&code).and_then(|m| m.first().map(|m| Region::new(m))).into_iter().collect()
            }
            Some(ids) => ids.iter().filter_map(|id| DATABASE.by_id(*id).map(Region::new)).collect(),
            None => Vec::new(),
        };
        let mut broken = regions.is_empty();
        let mut sources: Vec<&str> = Vec::new();
        for p in regions.iter().filter_map(|r| r.national_prefix.as_deref()) {
            if !sources.contains(&p) {
                sources.push(p);
            }
        }
        let prefixes: Vec<Dfa> = sources.iter().filter_map(|p| dfa(p)).collect();
        broken |= prefixes.len() != sources.len();
        let leading: Vec<Option<Dfa>> = if regions.len() > 1 {
            regions
                .iter()
                .map(|r| {
                    r.leading_digits.as_deref().map(|l| {
                        let d = dfa(l);
                        broken |= d.is_none();
                        d
                    })
                })
                .map(Option::flatten)
                .collect()
        } else {
            Vec::new()
        };
        codes.insert(code, Code { regions, prefixes, leading, broken });
    }
    let mut table: Vec<Option<Code>> = (0..1000).map(|_| None).collect();
    for (code, c) in codes {
        if let Some(slot) = table.get_mut(usize::from(code)) {
            *slot = Some(c);
        }
    }
    table
});

/// Returns the number itself when `s` is an E.164 number the full parser would accept
/// unchanged; `None` when unsure.
pub fn fast(s: &str) -> Option<&str> {
    let digits = s.strip_prefix('+')?;
    // No country code starts with 0.
    if !(8..=NATIONAL_MAX + 3).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return None;
    }
    // Country codes are prefix-free: the first of 1, 2 or 3 digits that is one is the code.
    let b = digits.as_bytes();
    let (code_len, code) = (1..=3).find_map(|n| {
        let code = b[..n].iter().fold(0usize, |acc, d| acc * 10 + usize::from(d - b'0'));
        CODES.get(code).and_then(Option::as_ref).map(|c| (n, c))
    })?;
    let national = &digits[code_len..];
    if code.broken || national.len() < 2 || national.len() > NATIONAL_MAX {
        return None;
    }
    // A prefix the parser could strip (a pattern like `0?` that matches nothing strips nothing).
    if code.prefixes.iter().any(|p| match_end(p, national).is_some_and(|end| end > 0)) {
        return None;
    }
    let region = if code.regions.len() == 1 {
        &code.regions[0]
    } else {
        // As the validator picks: the first region whose leading digits match, or (without
        // leading digits) whose types take the number.
        let mut chosen = None;
        for (r, leading) in code.regions.iter().zip(&code.leading) {
            let picked = match (&r.leading_digits, leading) {
                (Some(_), Some(d)) => matches_at_start(d, national),
                (Some(_), None) => return None,
                (None, _) => r.valid(national)?,
            };
            if picked {
                chosen = Some(r);
                break;
            }
        }
        chosen?
    };
    region.valid(national)?.then_some(s)
}
