//! Dates, times, numbers and money as a person reads them: in the member's language and the
//! co-op's time zone. One helper for every service, used from Rust ([`Format`]) and from
//! templates (the `datetime`, `date`, `number` and `money` filters).
//!
//! `2026-11-29T18:01:00Z` in Europe/Stockholm is `29 nov. 2026 19:01` in Swedish and
//! `29 Nov 2026 19:01` in English; 1234.5 SEK is `1 234,50 kr` and `SEK 1,234.50`.

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Utc};
use chrono_tz::Tz;
use coop_domain::{Currency, Money};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::i18n::Lang;

/// No-break space: Swedish groups digits with it, and an amount never breaks across lines.
const NBSP: char = '\u{a0}';
/// Swedish typesets negative numbers with a real minus sign.
const MINUS: char = '\u{2212}';

/// The formatting conventions of one language in one time zone.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub lang: Lang,
    pub tz: Tz,
}

impl Format {
    pub fn new(lang: Lang, tz: Tz) -> Self {
        Self { lang, tz }
    }

    fn month(self, m: u32) -> &'static str {
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        // CLDR's abbreviated Swedish month names (short months are written out).
        const SV: [&str; 12] = [
            "jan.", "feb.", "mars", "apr.", "maj", "juni", "juli", "aug.", "sep.", "okt.", "nov.",
            "dec.",
        ];
        let i = usize::try_from(m.clamp(1, 12) - 1).unwrap_or(0);
        match self.lang {
            Lang::En => EN[i],
            Lang::Sv => SV[i],
        }
    }

    /// `29 nov. 2026`
    pub fn naive_date(self, d: NaiveDate) -> String {
        format!("{} {} {}", d.day(), self.month(d.month()), d.year())
    }

    /// The calendar day of `t` in the co-op's zone.
    pub fn date(self, t: DateTime<Utc>) -> String {
        self.naive_date(t.with_timezone(&self.tz).date_naive())
    }

    /// `19:01` in the co-op's zone (both languages use the 24-hour clock).
    pub fn time(self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz);
        format!("{:02}:{:02}", local.hour(), local.minute())
    }

    /// `29 nov. 2026 19:01`
    pub fn datetime(self, t: DateTime<Utc>) -> String {
        format!("{} {}", self.date(t), self.time(t))
    }

    /// `t` for a `<time datetime="…">` attribute: ISO 8601 with the zone's offset.
    pub fn machine(self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    fn separators(self) -> (char, char, char) {
        match self.lang {
            Lang::En => (',', '.', '-'),
            Lang::Sv => (NBSP, ',', MINUS),
        }
    }

    /// A number with `decimals` places (rounded half away from zero), grouped by thousands.
    pub fn number(self, n: Decimal, decimals: u32) -> String {
        let (group, point, minus) = self.separators();
        let rounded = n.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
        let mut text = rounded.abs().to_string();
        if decimals > 0 {
            let have = text.split_once('.').map_or(0, |(_, f)| f.len());
            if have == 0 {
                text.push('.');
            }
            for _ in have..usize::try_from(decimals).unwrap_or(0) {
                text.push('0');
            }
        }
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        if rounded.is_sign_negative() && !rounded.is_zero() {
            out.push(minus);
        }
        let digits: Vec<char> = int.chars().collect();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(*c);
        }
        if !frac.is_empty() {
            out.push(point);
            out.push_str(frac);
        }
        out
    }

    /// `1 234,50 kr`, `SEK 1,234.50`, `€1,234.50`: always with the currency's minor units.
    pub fn money(self, m: Money) -> String {
        let currency = m.currency();
        let amount = m.amount();
        let digits = self.number(amount.abs(), currency.minor_units());
        let negative = amount.is_sign_negative() && !amount.is_zero();
        let (_, _, minus) = self.separators();
        let sign = if negative {
            minus.to_string()
        } else {
            String::new()
        };
        match self.lang {
            Lang::Sv => format!("{sign}{digits}{NBSP}{}", symbol_sv(currency)),
            Lang::En => match symbol_en(currency) {
                Some(sym) => format!("{sign}{sym}{digits}"),
                None => format!("{sign}{}{NBSP}{digits}", currency.code()),
            },
        }
    }
}

fn symbol_sv(c: Currency) -> &'static str {
    match c.code() {
        "SEK" | "NOK" | "DKK" => "kr",
        "EUR" => "€",
        "GBP" => "£",
        "USD" => "US$",
        other => other,
    }
}

/// English puts a symbol in front where one is unambiguous, else the code.
fn symbol_en(c: Currency) -> Option<&'static str> {
    match c.code() {
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "USD" => Some("$"),
        _ => None,
    }
}

/// A browser as a person names it: `Chrome 156` and `Linux`, for "Chrome 156 on Linux" in the
/// member's language (a translation joins the two).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrowserName {
    pub name: String,
    pub os: Option<&'static str>,
}

impl std::fmt::Display for BrowserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.os {
            Some(os) => write!(f, "{} on {os}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The browser a session was started from, from its user-agent string. Unknown agents give
/// `None`; the caller shows a placeholder, never the raw string.
pub fn browser_name(user_agent: &str) -> Option<BrowserName> {
    let ua = user_agent;
    let version = |marker: &str| -> Option<String> {
        let rest = &ua[ua.find(marker)? + marker.len()..];
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!major.is_empty()).then_some(major)
    };
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    let browser = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
    ]
    .iter()
    .find_map(|(marker, name)| version(marker).map(|v| format!("{name} {v}")))
    .or_else(|| {
        (ua.contains("Safari/") && ua.contains("Version/"))
            .then(|| version("Version/").map(|v| format!("Safari {v}")))
            .flatten()
    })
    .or_else(|| {
        ["curl/", "python-requests/", "Wget/"]
            .iter()
            .find_map(|m| version(m).map(|v| format!("{} {v}", m.trim_end_matches('/'))))
    })?;
    let os = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") || ua.contains("X11") {
        Some("Linux")
    } else {
        None
    };
    Some(BrowserName { name: browser, os })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn sv() -> Format {
        Format::new(Lang::Sv, chrono_tz::Europe::Stockholm)
    }
    fn en() -> Format {
        Format::new(Lang::En, chrono_tz::Europe::Stockholm)
    }
    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_time_in_the_members_language_and_the_coops_zone() {
        let t = at("2026-11-29T18:01:00Z");
        assert_eq!(sv().datetime(t), "29 nov. 2026 19:01");
        assert_eq!(en().datetime(t), "29 Nov 2026 19:01");
        assert_eq!(sv().machine(t), "2026-11-29T19:01:00+01:00");
        // Summer time: two hours ahead, and the day turns over in Stockholm first.
        let t = at("2026-06-30T22:30:00Z");
        assert_eq!(sv().datetime(t), "1 juli 2026 00:30");
        assert_eq!(
            Format::new(Lang::En, Tz::UTC).datetime(t),
            "30 Jun 2026 22:30"
        );
    }

    #[test]
    fn every_month_has_its_name() {
        let names: Vec<String> = (1..=12)
            .map(|m| sv().naive_date(NaiveDate::from_ymd_opt(2026, m, 1).unwrap()))
            .collect();
        assert_eq!(names[2], "1 mars 2026");
        assert_eq!(names[4], "1 maj 2026");
        assert_eq!(names[8], "1 sep. 2026");
    }

    #[test]
    fn numbers_group_and_round_the_languages_way() {
        assert_eq!(sv().number(dec!(1234567.891), 2), "1\u{a0}234\u{a0}567,89");
        assert_eq!(en().number(dec!(1234567.891), 2), "1,234,567.89");
        assert_eq!(en().number(dec!(999), 0), "999");
        assert_eq!(en().number(dec!(1000), 0), "1,000");
        assert_eq!(en().number(dec!(2.5), 0), "3");
        assert_eq!(en().number(dec!(-2.5), 0), "-3");
        assert_eq!(sv().number(dec!(-0.004), 2), "0,00");
        assert_eq!(sv().number(dec!(-1234.5), 1), "\u{2212}1\u{a0}234,5");
        assert_eq!(en().number(dec!(7), 3), "7.000");
    }

    #[test]
    fn money_in_each_language() {
        let sek = Currency::parse("SEK").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        let m = Money::new(dec!(1234.5), sek);
        assert_eq!(sv().money(m), "1\u{a0}234,50\u{a0}kr");
        assert_eq!(en().money(m), "SEK\u{a0}1,234.50");
        assert_eq!(en().money(Money::new(dec!(-3), eur)), "-€3.00");
        assert_eq!(sv().money(Money::new(dec!(-3), eur)), "\u{2212}3,00\u{a0}€");
    }

    #[test]
    fn browsers_are_named_as_people_name_them() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome 156 on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"),
            ("curl/8.5.0", "curl 8"),
        ];
        for (ua, want) in cases {
            assert_eq!(
                browser_name(ua).map(|b| b.to_string()).as_deref(),
                Some(want),
                "{ua}"
            );
        }
        assert_eq!(browser_name(""), None);
        assert_eq!(browser_name("<script>alert(1)</script>"), None);
    }
}
