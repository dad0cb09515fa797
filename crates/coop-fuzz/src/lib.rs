//! The bodies of Cooperage's fuzz targets. Each takes arbitrary bytes, feeds them to code that
//! reads what comes from outside (a scanner, a config file, a SIE file, a feed, a till's upload,
//! a card terminal, a scale), and checks what must hold whatever the input: no panic, and the
//! target's own invariant (a code that parses parses again to itself; what the SIE writer
//! writes the reader reads back to the same sums; a sale central accepts is one the ledger can
//! book, balanced).
//!
//! `fuzz/` runs them under libFuzzer (`cargo fuzz run <target>`, coverage-guided, nightly);
//! this crate's test runs each, bounded, on its seeds and on deterministic mutations of them,
//! with the stable toolchain, as part of the README's test command.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use coop_domain::code::{Gtin, ProductCode, VariableMeasureRule};
use rust_decimal::Decimal;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (the names of `fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Target)] = &[
    ("codes", codes),
    ("config", config),
    ("sie_read", sie_read),
    ("sie_pair", sie_pair),
    ("sale_upload", sale_upload),
    ("feed_payloads", feed_payloads),
    ("zvt", zvt),
    ("scale", scale),
    ("escpos", escpos),
];

fn rule(json: &str) -> Option<VariableMeasureRule> {
    serde_json::from_str(json).ok()
}

/// A scanned or typed code (and, on a first line starting with `{`, a variable-measure layout
/// from config). A code that parses, parses again from its own text to the same code.
pub fn codes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (layout, scan) = match text.split_once('\n') {
        Some((l, s)) if l.starts_with('{') => (Some(l), s),
        _ => (None, text.as_ref()),
    };
    let mut rules: Vec<VariableMeasureRule> = rule(
        r#"{"prefix": "23", "item_start": 3, "item_len": 5, "value_start": 8, "value_len": 5, "value_kind": "price_minor_units"}"#,
    )
    .into_iter()
    .collect();
    if let Some(r) = layout.and_then(rule) {
        rules.insert(0, r);
    }
    if let Ok(code) = ProductCode::parse_scan(scan, &rules) {
        let again = ProductCode::parse_scan(code.as_str(), &rules)
            .expect("a code that parsed parses again from its own text");
        assert_eq!(again, code, "{scan:?}");
    }
    if let Ok(code) = ProductCode::parse_sku(scan) {
        let again = ProductCode::parse_sku(code.as_str()).expect("an SKU parses again");
        assert_eq!(again, code);
    }
    if let Ok(g) = Gtin::parse(scan) {
        assert_eq!(Gtin::parse(&g.to_string()).expect("a GTIN parses again"), g);
    }
}

/// A co-op config file (`cooperage.json`), as every service loads it: refused with a message or
/// read, never a panic; a file read once reads again to the same.
pub fn config(data: &[u8]) {
    use coop_web::config::{parse, ServiceName};
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let env: BTreeMap<String, String> = BTreeMap::new();
    for service in [
        ServiceName::Sso,
        ServiceName::Pos,
        ServiceName::Ims,
        ServiceName::Finance,
        ServiceName::BuyersClub,
    ] {
        match parse::<serde_json::Value>(value.clone(), service, &env) {
            Ok(loaded) => {
                let again = parse::<serde_json::Value>(value.clone(), service, &env)
                    .expect("a config read once reads again");
                assert_eq!(
                    coop_web::config::resolved_view(&loaded),
                    coop_web::config::resolved_view(&again)
                );
            }
            Err(e) => {
                // The message names what is wrong, and is never empty.
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

/// Any bytes offered as a SIE file: the strict reader refuses them with problems, or reads
/// them; it never panics.
pub fn sie_read(data: &[u8]) {
    match coop_finance::sie::validate(data) {
        Ok(s) => assert!(s.transactions >= s.vouchers.min(1) || s.vouchers == 0),
        Err(problems) => assert!(!problems.is_empty()),
    }
}

/// Bytes read as the makings of a ledger: a company name, accounts and vouchers with texts and
/// amounts, each voucher balanced on 1930. What the writer makes of them, the reader reads
/// whole: the same number of vouchers, the same sum on every account, the same name (as code
/// page 437 can hold it), a correct checksum.
pub fn sie_pair(data: &[u8]) {
    let mut input = Bytes(data);
    let name = input.text(40);
    let count = usize::from(input.byte() % 8);
    let year = (
        NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date"),
        NaiveDate::from_ymd_opt(2026, 12, 31).expect("a date"),
    );
    let mut vouchers = Vec::new();
    let mut expected: BTreeMap<i32, Decimal> = BTreeMap::new();
    for number in 1..=count {
        let text = input.text(60);
        let day = u32::from(input.byte());
        let mut lines = Vec::new();
        for _ in 0..=(input.byte() % 5) {
            let account = 1000 + i32::from(input.u16() % 8000);
            let cents = i64::from(i32::from_le_bytes(input.u32().to_le_bytes()));
            if cents == 0 || account == 1930 {
                continue;
            }
            lines.push((account, Decimal::new(cents, 2)));
        }
        let sum: Decimal = lines.iter().map(|(_, a)| *a).sum();
        if lines.is_empty() || sum.is_zero() {
            continue;
        }
        lines.push((1930, -sum));
        for (a, x) in &lines {
            *expected.entry(*a).or_default() += *x;
        }
        vouchers.push(coop_finance::sie::Voucher {
            series: "A".into(),
            number: i64::try_from(number).expect("small"),
            date: year.0 + chrono::Days::new(u64::from(day)),
            text: if text.trim().is_empty() {
                "x".into()
            } else {
                text
            },
            lines,
        });
    }
    let accounts: Vec<(i32, String)> = expected
        .keys()
        .map(|a| (*a, format!("Konto {a} åäö")))
        .collect();
    let company = coop_finance::sie::Company {
        name: name.clone(),
        orgnr: Some("769600-0000".into()),
        currency: "SEK".into(),
        program_version: "1".into(),
        generated_on: year.1,
    };
    let (bytes, written) =
        coop_finance::sie::write_vouchers(&company, year, &accounts, &vouchers).expect("memory");
    let read = match coop_finance::sie::validate(&bytes) {
        Ok(s) => s,
        Err(p) => panic!(
            "the reader refused what the writer wrote: {p:?}\n{}",
            coop_finance::sie::from_cp437(&bytes)
        ),
    };
    assert_eq!(read.vouchers, vouchers.len());
    assert_eq!(
        u64::try_from(read.transactions).expect("small"),
        written.transactions
    );
    expected.retain(|_, v| !v.is_zero());
    let mut got = read.per_account.clone();
    got.retain(|_, v| !v.is_zero());
    assert_eq!(got, expected);
    assert_eq!(read.checksum, Some(true));
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    assert_eq!(
        read.company,
        coop_finance::sie::from_cp437(&coop_finance::sie::to_cp437(&clean))
    );
}

/// A till's upload of a sale (JSON, as central takes it, with the demo's VAT classes): central
/// refuses it or takes it; a sale it takes, coop-finance can book, balanced, from the event
/// central publishes for it.
pub fn sale_upload(data: &[u8]) {
    let Ok(record) = serde_json::from_slice::<coop_pos_till::journal::SaleRecord>(data) else {
        return;
    };
    if coop_pos::ingest::check_record(&record, &record.till, &record.currency)
        .and_then(|()| coop_pos::ingest::check_rates(&record, &vat()))
        .is_err()
    {
        return;
    }
    let payload = coop_pos::ingest::event_payload(&record, None);
    let sale: coop_finance::postings::Sale = serde_json::from_value(payload.clone())
        .unwrap_or_else(|e| {
            panic!("a sale central took is not one coop-finance reads: {e}\n{payload}")
        });
    match coop_finance::postings::sale_entry(&sale) {
        Ok(Some(entry)) => {
            let sum: Decimal = entry.lines().iter().map(|l| l.amount).sum();
            assert!(sum.is_zero(), "an unbalanced entry: {entry:?}");
        }
        Ok(None) => {}
        Err(e) => panic!("a sale central took cannot be booked: {e:#}\n{payload}"),
    }
}

/// The demo's VAT classes (Swedish rates, food's changing on 2026-04-01).
///
/// # Panics
/// Never: the table is fixed.
#[must_use]
pub fn vat() -> coop_domain::vat::VatTable {
    serde_json::from_value(serde_json::json!({
        "food": { "rates": [
            { "from": "2024-01-01", "percent": "12" },
            { "from": "2026-04-01", "percent": "6" },
            { "from": "2028-01-01", "percent": "12" }
        ] },
        "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] },
        "books": { "rates": [ { "from": "2002-01-01", "percent": "6" } ] }
    }))
    .expect("the demo's VAT classes")
}

/// Event payloads from the feeds coop-finance follows (sales, supplier orders, stock
/// movements): each is read and booked, or refused with a reason; a booking balances.
pub fn feed_payloads(data: &[u8]) {
    use coop_finance::postings::{order_entry, sale_entry, stock_entry};
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let entry = match which % 3 {
        0 => serde_json::from_slice(rest).ok().map(|s| sale_entry(&s)),
        1 => serde_json::from_slice(rest).ok().map(|o| order_entry(&o)),
        _ => serde_json::from_slice(rest).ok().map(|m| stock_entry(&m)),
    };
    if let Some(Ok(Some(e))) = entry {
        let sum: Decimal = e.lines().iter().map(|l| l.amount).sum();
        assert!(sum.is_zero(), "an unbalanced entry: {e:?}");
    }
}

/// What a card terminal sends (ZVT APDUs, one after another): each is read or refused; a
/// status information without a result code is never read as one.
pub fn zvt(data: &[u8]) {
    use coop_pos_devices::zvt::{bmps, Apdu, StatusInfo};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut r = data;
        for _ in 0..16 {
            let Ok(apdu) = Apdu::read(&mut r).await else {
                break;
            };
            let _ = bmps(&apdu.data);
            if let Ok(s) = StatusInfo::parse(&apdu.data) {
                // Parsed from its own encoding, it is itself.
                assert_eq!(StatusInfo::parse(&s.encode()).expect("its own encoding"), s);
            }
        }
    });
}

/// What a scale sends (Mettler Toledo 8217): a reading or a refusal, never a panic; a weight
/// is never negative unless the scale said so.
pub fn scale(data: &[u8]) {
    let _ = coop_pos_devices::scale::parse_8217(data);
}

/// Bytes read back as a printer would take them: never a panic; text made into a receipt and
/// encoded decodes to lines none wider than the paper.
pub fn escpos(data: &[u8]) {
    use coop_pos_devices::escpos::{decode, encode};
    let _ = decode(data);
    let text = String::from_utf8_lossy(data);
    let doc = coop_pos_devices::receipt::Doc {
        header: vec![text.to_string()],
        title: vec![text.chars().rev().collect()],
        items: vec![coop_pos_devices::receipt::Item {
            name: text.to_string(),
            detail: String::new(),
            amount: "1,00".into(),
        }],
        total: Some(("Total".into(), text.to_string())),
        summary: Vec::new(),
        footer: vec![text.to_string()],
        code: None,
        qr: false,
        drawer: false,
    };
    let bytes = encode(&coop_pos_devices::receipt::render(&doc, 32));
    let decoded = decode(&bytes);
    // No text can open the drawer or cut the paper.
    assert!(decoded.drawer.is_empty(), "{text:?}");
    let pole = coop_pos_devices::pole::frame(&text, &text);
    assert_eq!(pole.len(), 2 * (4 + coop_pos_devices::pole::WIDTH));
}

/// A cursor over the fuzz input that never runs out (zeros after the end).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    /// Up to `max` characters: a length byte, then that many bytes read as UTF-8 (lossy).
    fn text(&mut self, max: usize) -> String {
        let n = usize::from(self.byte()) % (max + 1);
        let take = n.min(self.0.len());
        let (t, rest) = self.0.split_at(take);
        self.0 = rest;
        String::from_utf8_lossy(t).into_owned()
    }
}
