//! Times as exports write them: RFC 3339 and its relatives (`2026-01-15T10:32:00.000+0000`,
//! `2026-01-15 10:32:11`), day-first dates (`15-01-2026 10:32`, `15.01.2026`), US dates
//! (`1/15/2026, 10:32 AM`), and Unix seconds or milliseconds. A time without a zone is in
//! the offset the caller gives (UTC unless told). Hand-written because the layouts are few and
//! a date crate would not know which of them a file uses either.

/// How to read times without a zone and dates whose order is ambiguous.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeOptions {
    /// Seconds east of UTC for times without a zone.
    pub offset_secs: i32,
    /// `Some(true)`: `01/02/2026` is 1 February; `Some(false)`: 2 January; `None`: `-` and `.`
    /// dates are day first, `/` dates month first unless the first number is above 12.
    pub day_first: Option<bool>,
}

/// Parses `text` into Unix seconds and nanoseconds.
pub fn parse(text: &str, opts: TimeOptions) -> Result<(i64, i32), &'static str> {
    let t = text.trim();
    if let Some(n) = unix(t) {
        // Past year 5138 as seconds means milliseconds (HubSpot and JavaScript write those).
        return Ok(if n.abs() >= 100_000_000_000 {
            (n.div_euclid(1000), (n.rem_euclid(1000) * 1_000_000) as i32)
        } else {
            (n, 0)
        });
    }
    let split = t.find(['T', ' ', ',']).unwrap_or(t.len());
    let (date, rest) = t.split_at(split);
    let (y, m, d) = date_part(date, opts.day_first)?;
    let rest = rest.trim_start_matches([',', 'T', ' ']);
    let (secs_of_day, nanos, zone) = time_part(rest)?;
    let days = days_from_civil(y, m, d);
    let offset = zone.unwrap_or(opts.offset_secs);
    Ok((days * 86_400 + secs_of_day - i64::from(offset), nanos))
}

fn unix(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    (!digits.is_empty() && digits.len() <= 16 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

fn number(s: &str) -> Result<i64, &'static str> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a date or time");
    }
    s.parse().map_err(|_| "not a date or time")
}

fn date_part(date: &str, day_first: Option<bool>) -> Result<(i64, i64, i64), &'static str> {
    let sep = date.find(['-', '/', '.']).map(|i| &date[i..=i]).ok_or("not a date")?;
    let parts: Vec<&str> = date.split(sep).collect();
    let [a, b, c] = parts.as_slice() else { return Err("a date has three parts") };
    let (na, nb, nc) = (number(a)?, number(b)?, number(c)?);
    let (y, m, d) = if a.len() == 4 {
        (na, nb, nc)
    } else if c.len() == 4 {
        let day_first = match day_first {
            Some(f) => f,
            None if na > 12 => true,
            None if nb > 12 => false,
            None => sep != "/",
        };
        if day_first { (nc, nb, na) } else { (nc, na, nb) }
    } else {
        return Err("the year needs four digits");
    };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err("no such day");
    }
    Ok((y, m, d))
}

/// `HH:MM[:SS[.frac]]`, optional AM/PM, optional zone; empty is midnight.
fn time_part(rest: &str) -> Result<(i64, i32, Option<i32>), &'static str> {
    let mut s = rest.trim();
    if s.is_empty() {
        return Ok((0, 0, None));
    }
    let mut zone = None;
    if let Some(x) = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")).or_else(|| s.strip_suffix(" GMT")) {
        zone = Some(0);
        s = x.trim_end();
    } else if let Some(i) = s.rfind(['+', '-']) {
        zone = Some(offset(&s[i..])?);
        s = s[..i].trim_end();
    }
    let upper = s.to_ascii_uppercase();
    let (s, pm) = match (upper.strip_suffix("PM"), upper.strip_suffix("AM")) {
        (Some(_), _) => (s[..s.len() - 2].trim_end(), Some(true)),
        (_, Some(_)) => (s[..s.len() - 2].trim_end(), Some(false)),
        _ => (s, None),
    };
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err("a time is HH:MM or HH:MM:SS");
    }
    let mut h = number(parts[0])?;
    let m = number(parts[1])?;
    let sec = parts.get(2).map_or(Ok(0), |p| number(p))?;
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return Err("an AM/PM hour is 1 to 12");
        }
        h = h % 12 + if pm { 12 } else { 0 };
    }
    if h > 23 || m > 59 || sec > 60 {
        return Err("no such time");
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad fraction of a second");
    }
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse::<i32>().map_err(|_| "bad fraction")? };
    Ok((h * 3600 + m * 60 + sec, nanos, zone))
}

/// `+01:00`, `+0100`, `+01`, `-05:30`.
fn offset(z: &str) -> Result<i32, &'static str> {
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (number(&digits)?, 0),
        4 => (number(&digits[..2])?, number(&digits[2..])?),
        _ => return Err("bad time zone offset"),
    };
    if h > 18 || m > 59 {
        return Err("bad time zone offset");
    }
    Ok(sign * (h * 3600 + m * 60) as i32)
}

/// Parses a `--timezone` value: `UTC`, `Z` or an offset such as `+01:00`.
pub fn parse_offset(text: &str) -> Result<i32, &'static str> {
    match text.trim() {
        "UTC" | "utc" | "Z" | "z" | "" => Ok(0),
        t if t.starts_with(['+', '-']) => offset(t),
        _ => Err("a time zone is UTC or an offset such as +01:00"),
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC), the layout Mailchimp and HubSpot write.
pub fn format_plain(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Formats microseconds since the epoch as RFC 3339 in UTC with microseconds
/// (`2026-01-15T10:32:00.000123Z`).
pub fn rfc3339_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let plain = format_plain(secs);
    format!("{}T{}.{micros:06}Z", &plain[..10], &plain[11..])
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC: TimeOptions = TimeOptions { offset_secs: 0, day_first: None };
    /// 2026-01-15T10:32:00Z
    const T: i64 = 1_768_473_120;

    #[test]
    fn microsecond_times_print_as_rfc3339() {
        assert_eq!(rfc3339_us(T * 1_000_000 + 123), "2026-01-15T10:32:00.000123Z");
        assert_eq!(rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn export_layouts_agree() {
        for text in [
            "2026-01-15T10:32:00Z",
            "2026-01-15T10:32:00.000+0000",
            "2026-01-15T11:32:00+01:00",
            "2026-01-15 10:32:00",
            "2026-01-15 10:32",
            "15-01-2026 10:32",
            "15.01.2026 10:32",
            "1/15/2026, 10:32 AM",
            "01/15/2026 10:32",
            "15/01/2026 10:32",
            "1768473120",
            "1768473120000",
            " 2026-01-15T10:32:00Z ",
        ] {
            assert_eq!(parse(text, UTC), Ok((T, 0)), "{text}");
        }
        assert_eq!(parse("2026-01-15", UTC), Ok((T - 10 * 3600 - 32 * 60, 0)));
        assert_eq!(parse("2026-01-15T10:32:00.25Z", UTC), Ok((T, 250_000_000)));
        assert_eq!(parse("1/15/2026 12:05 AM", UTC), Ok((T - 10 * 3600 - 27 * 60, 0)));
        let amsterdam = TimeOptions { offset_secs: 3600, day_first: None };
        assert_eq!(parse("15-01-2026 11:32", amsterdam), Ok((T, 0)));
        assert_eq!(parse("2026-01-15T10:32:00Z", amsterdam), Ok((T, 0)), "an explicit zone wins");
        let us = TimeOptions { offset_secs: 0, day_first: Some(false) };
        assert_eq!(parse("02-03-2026", us), parse("2026-02-03", UTC));
    }

    #[test]
    fn nonsense_is_refused() {
        for text in ["yesterday", "2026-13-01", "2026-02-29", "31-04-2026", "2026-01-15 25:00", "15-01-26", "", "1/2"] {
            assert!(parse(text, UTC).is_err(), "{text}");
        }
        assert!(parse("2024-02-29", UTC).is_ok());
    }

    #[test]
    fn formatting_round_trips() {
        for secs in [0, T, 951_782_400, 4_102_444_799, -86_400] {
            assert_eq!(parse(&format_plain(secs), UTC), Ok((secs, 0)), "{secs}");
        }
        assert_eq!(format_plain(T), "2026-01-15 10:32:00");
    }
}
