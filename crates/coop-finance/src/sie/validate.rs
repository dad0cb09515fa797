//! A strict reader of SIE 4 files, written from the SIE 4B specification, for the files we make:
//! it refuses what a lenient reader would let through (LF-only lines, records out of order, an
//! unbalanced voucher, an account no `#KONTO` declares, a wrong `#KSUMMA`), and sums what the
//! file says so a test can compare it with the ledger.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{from_cp437, to_cp437, Checksum};

/// One thing wrong with a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// What a valid file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub program: String,
    pub company: String,
    /// `#RAR 0`: the fiscal year's first and last day.
    pub year: Option<(NaiveDate, NaiveDate)>,
    pub accounts: BTreeMap<i32, String>,
    /// `#IB`, `#UB` and `#RES` of year 0.
    pub opening: BTreeMap<i32, Decimal>,
    pub closing: BTreeMap<i32, Decimal>,
    pub results: BTreeMap<i32, Decimal>,
    pub vouchers: usize,
    pub transactions: usize,
    /// Each account's sum over the vouchers' `#TRANS` lines.
    pub per_account: BTreeMap<i32, Decimal>,
    pub checksum: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Bare(String),
    Quoted(String),
    Objects(Vec<String>),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Self::Bare(s) | Self::Quoted(s) => s,
            Self::Objects(_) => "",
        }
    }
}

/// Splits a record's fields.
fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        if c == '"' {
            chars.next();
            out.push(Token::Quoted(quoted(&mut chars)?));
        } else if c == '{' {
            chars.next();
            let mut items = Vec::new();
            loop {
                while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                    chars.next();
                }
                match chars.peek() {
                    None => return Err("an object list is not closed with }".into()),
                    Some('}') => {
                        chars.next();
                        break;
                    }
                    Some('"') => {
                        chars.next();
                        items.push(quoted(&mut chars)?);
                    }
                    Some(_) => {
                        let mut s = String::new();
                        while let Some(&c) = chars.peek() {
                            if c == ' ' || c == '\t' || c == '}' {
                                break;
                            }
                            s.push(c);
                            chars.next();
                        }
                        items.push(s);
                    }
                }
            }
            if items.len() % 2 != 0 {
                return Err("an object list holds pairs of dimension and object".into());
            }
            out.push(Token::Objects(items));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' || c == '\t' {
                    break;
                }
                if c == '"' || c == '{' || c == '}' {
                    return Err(format!("{c} inside an unquoted field"));
                }
                s.push(c);
                chars.next();
            }
            out.push(Token::Bare(s));
        }
    }
    Ok(out)
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut s = String::new();
    loop {
        match chars.next() {
            None => return Err("a quoted field is not closed".into()),
            // `\"` is a quotation mark and `\\` a backslash in the text (the writer escapes
            // both; found by the fuzz target sie_pair).
            Some('\\') if matches!(chars.peek(), Some('"' | '\\')) => {
                s.push(chars.next().expect("peeked"));
            }
            Some('"') => return Ok(s),
            Some(c) => s.push(c),
        }
    }
}

/// Where a label may stand: records come in this order (SIE 4B, chapter 5). Labels of the same
/// rank may mix; `#VER` blocks come last.
fn rank(label: &str) -> Option<u8> {
    Some(match label {
        "#FLAGGA" => 0,
        "#PROGRAM" | "#FORMAT" | "#GEN" | "#SIETYP" | "#PROSA" | "#FTYP" | "#FNR" | "#ORGNR"
        | "#BKOD" | "#ADRESS" | "#FNAMN" | "#RAR" | "#TAXAR" | "#OMFATTN" | "#KPTYP"
        | "#VALUTA" => 1,
        "#KONTO" | "#KTYP" | "#ENHET" | "#SRU" | "#DIM" | "#UNDERDIM" | "#OBJEKT" => 2,
        "#IB" | "#UB" | "#OIB" | "#OUB" | "#RES" | "#PSALDO" | "#PBUDGET" => 3,
        "#VER" => 4,
        _ => return None,
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// An amount as SIE writes it: `-1234.50`; at most two decimals, `.` as separator.
fn parse_amount(s: &str) -> Option<Decimal> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

fn account(s: &str) -> Option<i32> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Checks a whole file; either what it holds or everything wrong with it.
pub fn validate(bytes: &[u8]) -> Result<Summary, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut sum = Summary::default();
    let mut bad = |line: usize, m: String| problems.push(Problem { line, message: m });

    // Lines: CRLF only; no other control characters.
    let text = from_cp437(bytes);
    if !text.ends_with("\r\n") {
        bad(0, "the file does not end with CRLF".into());
    }
    let body = text.strip_suffix("\r\n").unwrap_or(&text);
    let lines: Vec<&str> = body.split("\r\n").collect();

    let mut checksum: Option<Checksum> = None;
    let mut declared: Option<String> = None;
    let mut max_rank = 0u8;
    let mut seen = BTreeSet::new();
    let mut sietyp = None;
    let mut in_voucher: Option<(usize, Decimal, usize, NaiveDate)> = None;
    let mut expect_brace = false;
    let mut vouchers = BTreeSet::new();
    let mut trans_accounts: Vec<(usize, i32)> = Vec::new();

    for (idx, raw) in lines.iter().enumerate() {
        let n = idx + 1; // the line number
        if raw.contains('\n') || raw.contains('\r') {
            bad(n, "a line ends with a bare LF or CR, not CRLF".into());
            continue;
        }
        if raw.chars().any(|c| c.is_control() && c != '\t') {
            bad(n, "a control character inside a line".into());
        }
        if declared.is_some() {
            bad(n, "a record after the closing #KSUMMA".into());
        }
        let line = raw.trim_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        if line == "{" {
            if !expect_brace {
                bad(n, "{ without a #VER before it".into());
            }
            expect_brace = false;
            continue;
        }
        if expect_brace {
            bad(n, "#VER must be followed by a line with {".into());
            expect_brace = false;
        }
        if line == "}" {
            match in_voucher.take() {
                Some((start, total, count, _)) => {
                    if count == 0 {
                        bad(start, "a voucher without #TRANS lines".into());
                    }
                    if !total.is_zero() {
                        bad(
                            start,
                            format!(
                                "the voucher does not balance: its #TRANS lines sum to {total}"
                            ),
                        );
                    }
                }
                None => bad(n, "} without an open voucher".into()),
            }
            continue;
        }
        let (label, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        let fields = match tokenize(rest) {
            Ok(f) => f,
            Err(e) => {
                bad(n, e);
                continue;
            }
        };
        if !label.starts_with('#')
            || label.len() < 2
            || !label[1..].bytes().all(|b| b.is_ascii_uppercase())
        {
            bad(n, format!("{label:?} is not a record label"));
            continue;
        }
        if n == 1 {
            if label != "#FLAGGA" {
                bad(n, "the first record must be #FLAGGA".into());
            } else if !matches!(fields.first().map(Token::text), Some("0" | "1")) {
                bad(n, "#FLAGGA is 0 or 1".into());
            }
        }
        if label == "#KSUMMA" {
            if fields.is_empty() {
                if n != 2 || checksum.is_some() {
                    bad(n, "the opening #KSUMMA stands right after #FLAGGA".into());
                }
                checksum = Some(Checksum::default());
            } else if checksum.is_none() {
                bad(n, "a closing #KSUMMA without an opening one".into());
            } else {
                declared = Some(fields[0].text().to_owned());
            }
            continue;
        }
        if let Some(c) = checksum.as_mut() {
            c.add(&to_cp437(label));
            for f in &fields {
                match f {
                    Token::Bare(s) | Token::Quoted(s) => c.add(&to_cp437(s)),
                    Token::Objects(items) => {
                        for it in items {
                            c.add(&to_cp437(it));
                        }
                    }
                }
            }
        }
        if label == "#TRANS" {
            let Some((_, total, count, _)) = in_voucher.as_mut() else {
                bad(n, "#TRANS outside a voucher".into());
                continue;
            };
            let acc = fields.first().and_then(|f| account(f.text()));
            let objects_ok = matches!(fields.get(1), Some(Token::Objects(_)));
            let amt = fields.get(2).and_then(|f| parse_amount(f.text()));
            match (acc, objects_ok, amt) {
                (Some(a), true, Some(v)) => {
                    *total += v;
                    *count += 1;
                    sum.transactions += 1;
                    *sum.per_account.entry(a).or_insert(Decimal::ZERO) += v;
                    trans_accounts.push((n, a));
                }
                _ => bad(n, "#TRANS is account {objects} amount".into()),
            }
            continue;
        }
        if in_voucher.is_some() {
            bad(n, format!("{label} inside a voucher"));
            continue;
        }
        let Some(order) = rank(label) else {
            bad(n, format!("{label} is not a SIE 4 record"));
            continue;
        };
        if order < max_rank {
            bad(
                n,
                format!("{label} stands after records that come after it"),
            );
        }
        max_rank = max_rank.max(order);
        let unique = matches!(
            label,
            "#FLAGGA"
                | "#PROGRAM"
                | "#FORMAT"
                | "#GEN"
                | "#SIETYP"
                | "#FNAMN"
                | "#ORGNR"
                | "#KPTYP"
                | "#VALUTA"
        );
        if unique && !seen.insert(label.to_owned()) {
            bad(n, format!("{label} appears twice"));
        }
        seen.insert(label.to_owned());
        let field = |k: usize| fields.get(k).map_or("", Token::text);
        match label {
            "#PROGRAM" => field(0).clone_into(&mut sum.program),
            "#FORMAT" if field(0) != "PC8" => bad(n, "#FORMAT must be PC8 (code page 437)".into()),
            "#GEN" if parse_date(field(0)).is_none() => bad(n, "#GEN needs a date YYYYMMDD".into()),
            "#SIETYP" => {
                sietyp = Some(field(0).to_owned());
                if field(0) != "4" {
                    bad(n, format!("#SIETYP {} is not 4", field(0)));
                }
            }
            "#FNAMN" => field(0).clone_into(&mut sum.company),
            "#RAR" => match (
                field(0).parse::<i32>(),
                parse_date(field(1)),
                parse_date(field(2)),
            ) {
                (Ok(y), Some(a), Some(b)) if a <= b && y <= 0 => {
                    if y == 0 {
                        sum.year = Some((a, b));
                    }
                }
                _ => bad(n, "#RAR is year (0, -1, ...) start end".into()),
            },
            "#KONTO" => match account(field(0)) {
                Some(a) if !field(1).is_empty() => {
                    if sum.accounts.insert(a, field(1).to_owned()).is_some() {
                        bad(n, format!("account {a} is declared twice"));
                    }
                }
                _ => bad(n, "#KONTO is a four-digit account and its name".into()),
            },
            "#KTYP"
                if account(field(0)).is_none() || !matches!(field(1), "T" | "S" | "I" | "K") =>
            {
                bad(n, "#KTYP is account and T, S, I or K".into());
            }
            "#IB" | "#UB" | "#RES" => {
                match (
                    field(0).parse::<i32>(),
                    account(field(1)),
                    parse_amount(field(2)),
                ) {
                    (Ok(y), Some(a), Some(v)) => {
                        if y == 0 {
                            let map = match label {
                                "#IB" => &mut sum.opening,
                                "#UB" => &mut sum.closing,
                                _ => &mut sum.results,
                            };
                            if map.insert(a, v).is_some() {
                                bad(n, format!("{label} 0 {a} appears twice"));
                            }
                        }
                        if label == "#RES" && a < 3000 {
                            bad(n, format!("#RES for balance-sheet account {a}"));
                        }
                        if label != "#RES" && a >= 3000 {
                            bad(n, format!("{label} for result account {a}"));
                        }
                    }
                    _ => bad(n, format!("{label} is year account amount")),
                }
            }
            "#VER" => {
                let series = field(0);
                let number = field(1);
                let date = parse_date(field(2));
                if series.is_empty()
                    || date.is_none()
                    || !matches!(fields.get(3), Some(Token::Quoted(_)))
                {
                    bad(n, "#VER is series number date \"text\"".into());
                }
                if !number.is_empty() && !vouchers.insert((series.to_owned(), number.to_owned())) {
                    bad(n, format!("voucher {series} {number} appears twice"));
                }
                let d = date.unwrap_or_default();
                if let (Some((a, b)), Some(d)) = (sum.year, date) {
                    if d < a || d > b {
                        bad(n, format!("voucher date {d} is outside the fiscal year"));
                    }
                }
                sum.vouchers += 1;
                in_voucher = Some((n, Decimal::ZERO, 0, d));
                expect_brace = true;
            }
            _ => {}
        }
    }
    if in_voucher.is_some() || expect_brace {
        bad(lines.len(), "the file ends inside a voucher".into());
    }
    for required in [
        "#FLAGGA", "#PROGRAM", "#FORMAT", "#GEN", "#SIETYP", "#FNAMN",
    ] {
        if !seen.contains(required) {
            bad(0, format!("{required} is missing"));
        }
    }
    if sietyp.is_some() && sum.year.is_none() {
        bad(0, "#RAR 0 is missing".into());
    }
    if !sum.accounts.is_empty() {
        for (n, a) in &trans_accounts {
            if !sum.accounts.contains_key(a) {
                bad(*n, format!("account {a} has no #KONTO"));
            }
        }
    }
    match (checksum, declared) {
        (None, _) => sum.checksum = None,
        (Some(_), None) => bad(
            lines.len(),
            "the opening #KSUMMA has no closing one: the file is cut off".into(),
        ),
        (Some(c), Some(d)) => {
            let v = c.value();
            // Programs print the CRC unsigned or as a signed 32-bit number.
            let signed = i32::from_ne_bytes(v.to_ne_bytes());
            let ok = d == v.to_string() || d == signed.to_string();
            if !ok {
                bad(
                    lines.len(),
                    format!("#KSUMMA {d} does not match the contents ({signed})"),
                );
            }
            sum.checksum = Some(ok);
        }
    }
    if problems.is_empty() {
        Ok(sum)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[&str]) -> Vec<u8> {
        let mut s = records.join("\r\n");
        s.push_str("\r\n");
        super::super::to_cp437(&s)
    }

    const HEAD: [&str; 7] = [
        "#FLAGGA 0",
        "#PROGRAM \"Test\" 1.0",
        "#FORMAT PC8",
        "#GEN 20261129",
        "#SIETYP 4",
        "#FNAMN \"Kooperativet \\\"Ek\\\" åäö\"",
        "#RAR 0 20260101 20261231",
    ];

    fn with(extra: &[&str]) -> Vec<u8> {
        let mut v: Vec<&str> = HEAD.to_vec();
        v.extend_from_slice(extra);
        file(&v)
    }

    fn messages(bytes: &[u8]) -> Vec<String> {
        validate(bytes)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn a_good_file_is_read_whole() {
        let s = validate(&with(&[
            "#KONTO 1930 \"Bank\"",
            "#KONTO 3002 \"Försäljning 12 %\"",
            "#KONTO 2621 \"Utgående moms 12 %\"",
            "#VER A 1 20261102 \"Försäljning\" 20261102",
            "{",
            "#TRANS 1930 {} 112.00",
            "#TRANS 3002 {} -100.00",
            "#TRANS 2621 {} -12",
            "}",
        ]))
        .unwrap();
        assert_eq!(s.company, "Kooperativet \"Ek\" åäö");
        assert_eq!((s.vouchers, s.transactions), (1, 3));
        assert_eq!(s.per_account[&3002], Decimal::new(-10000, 2));
        assert_eq!(s.accounts[&3002], "Försäljning 12 %");
    }

    #[test]
    fn what_a_strict_reader_refuses() {
        let unbalanced = with(&[
            "#VER A 1 20261102 \"x\"",
            "{",
            "#TRANS 1930 {} 10.00",
            "#TRANS 3002 {} -9.99",
            "}",
        ]);
        assert!(messages(&unbalanced)[0].contains("does not balance"));
        let mut order = HEAD.to_vec();
        order.insert(3, "#KONTO 1930 \"Bank\"");
        assert!(messages(&file(&order))
            .iter()
            .any(|m| m.contains("#GEN stands after")));
        let lf = from_cp437(&with(&[])).replace("\r\n", "\n");
        assert!(!messages(&to_cp437(&lf)).is_empty());
        let undeclared = with(&[
            "#KONTO 1930 \"Bank\"",
            "#VER A 1 20261102 \"x\"",
            "{",
            "#TRANS 1930 {} 10",
            "#TRANS 3002 {} -10",
            "}",
        ]);
        assert_eq!(messages(&undeclared), ["account 3002 has no #KONTO"]);
        let outside = with(&[
            "#VER A 1 20271102 \"x\"",
            "{",
            "#TRANS 1930 {} 1",
            "#TRANS 3002 {} -1",
            "}",
        ]);
        assert!(messages(&outside)[0].contains("outside the fiscal year"));
        let three = with(&[
            "#VER A 1 20261102 \"x\"",
            "{",
            "#TRANS 1930 {} 1.005",
            "#TRANS 3002 {} -1.005",
            "}",
        ]);
        assert!(messages(&three)[0].contains("#TRANS is account"));
        let cut = with(&["#VER A 1 20261102 \"x\"", "{", "#TRANS 1930 {} 1"]);
        assert!(messages(&cut)
            .iter()
            .any(|m| m.contains("ends inside a voucher")));
    }

    #[test]
    fn the_checksum_is_checked() {
        let mut recs = vec!["#FLAGGA 0", "#KSUMMA"];
        recs.extend_from_slice(&HEAD[1..]);
        // Label and field contents without separators, quotes or braces.
        let mut c = Checksum::default();
        for part in [
            "#PROGRAM",
            "Test",
            "1.0",
            "#FORMAT",
            "PC8",
            "#GEN",
            "20261129",
            "#SIETYP",
            "4",
            "#FNAMN",
            "Kooperativet \"Ek\" åäö",
            "#RAR",
            "0",
            "20260101",
            "20261231",
        ] {
            c.add(&to_cp437(part));
        }
        let good = format!("#KSUMMA {}", c.value());
        let mut ok = recs.clone();
        ok.push(&good);
        assert_eq!(validate(&file(&ok)).unwrap().checksum, Some(true));
        let mut wrong = recs.clone();
        wrong.push("#KSUMMA 12345");
        assert!(messages(&file(&wrong))[0].contains("does not match"));
        assert!(messages(&file(&recs))[0].contains("cut off"));
    }
}
