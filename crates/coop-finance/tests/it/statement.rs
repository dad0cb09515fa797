//! Member statements: the demo month's wallet and purchases add up, and the PDF, read back by an
//! independent reader (lopdf), says what the statement says, in the reader's language, over as
//! many pages as it needs.

use chrono::NaiveDate;
use coop_domain::Currency;
use coop_finance::statement::{self, pdf, Purchase};
use coop_web::format::Format;
use coop_web::Lang;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

const STOCKHOLM: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn sek() -> Currency {
    Currency::SEK
}

/// The PDF's text, page by page, as lopdf reads it.
fn pages_text(bytes: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    pages
        .iter()
        .map(|p| doc.extract_text(&[*p]).expect("text of a page"))
        .collect()
}

fn render(s: &statement::Statement, lang: Lang) -> Vec<u8> {
    let translations = coop_web::Translations::new(coop_finance::TRANSLATIONS, Lang::En).unwrap();
    let t = |key: &str| translations.text(lang, key);
    pdf::render(
        s,
        &pdf::Labels {
            t: &t,
            format: Format::new(lang, STOCKHOLM),
            currency: sek(),
            org_name: "Röstånga Matkooperativ",
            org_number: Some("769600-0000"),
        },
    )
}

#[tokio::test]
async fn a_demo_members_month_adds_up_and_reads_back_from_the_pdf() {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    coop_finance::demo::seed(&pool).await.unwrap();
    let (wallet, balance): (Uuid, Decimal) = sqlx::query_as(
        "select w.wallet_id, w.balance from wallet w
         where exists (select 1 from member_purchase p where p.owner_id = w.owner_id)
         order by w.owner_name limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    let s = statement::for_wallet(&pool, wallet, d(2026, 11, 1), d(2026, 11, 30), STOCKHOLM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.opening, Decimal::ZERO);
    assert_eq!(s.closing, balance);
    assert!(
        s.paid_in > Decimal::ZERO && s.spent > Decimal::ZERO,
        "{s:?}"
    );
    // Every krona spent from the wallet is a purchase on the statement, split by VAT rate.
    assert_eq!(s.total_gross, s.spent);
    assert_eq!(s.total_net + s.total_vat, s.total_gross);
    let rates: Vec<Decimal> = s.vat.iter().map(|v| v.vat_percent).collect();
    assert_eq!(rates, vec![dec!(6), dec!(25)]);
    for v in &s.vat {
        let of_rate: Vec<&Purchase> = s
            .purchases
            .iter()
            .filter(|p| p.vat_percent.normalize() == v.vat_percent)
            .collect();
        assert_eq!(v.net, of_rate.iter().map(|p| p.net).sum::<Decimal>());
        assert_eq!(v.vat, of_rate.iter().map(|p| p.vat).sum::<Decimal>());
    }

    // The half before and the half after add up to the month.
    let first = statement::for_wallet(&pool, wallet, d(2026, 11, 1), d(2026, 11, 15), STOCKHOLM)
        .await
        .unwrap()
        .unwrap();
    let second = statement::for_wallet(&pool, wallet, d(2026, 11, 16), d(2026, 11, 30), STOCKHOLM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.opening, first.closing);
    assert_eq!(second.closing, s.closing);
    assert_eq!(first.total_gross + second.total_gross, s.total_gross);

    // December: nothing happened, the balance carries over.
    let december = statement::for_wallet(&pool, wallet, d(2026, 12, 1), d(2026, 12, 31), STOCKHOLM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((december.opening, december.closing), (balance, balance));
    assert!(december.movements.is_empty() && december.purchases.is_empty());

    // No such wallet: no statement.
    assert!(statement::for_wallet(
        &pool,
        Uuid::new_v4(),
        d(2026, 11, 1),
        d(2026, 11, 30),
        STOCKHOLM
    )
    .await
    .unwrap()
    .is_none());

    // The PDF in Swedish says the same (COOP_STATEMENT_DIR keeps it to look at).
    let bytes = render(&s, Lang::Sv);
    if let Some(dir) = std::env::var_os("COOP_STATEMENT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("statement-sv.pdf"), &bytes).unwrap();
    }
    let sv = pages_text(&bytes).join("\n");
    let money = Format::new(Lang::Sv, STOCKHOLM);
    for expected in [
        "Kontoutdrag".to_owned(),
        "Röstånga Matkooperativ".to_owned(),
        s.owner_name.clone(),
        "Inköp per momssats".to_owned(),
        "1 nov. 2026".to_owned(),
        money
            .money(coop_domain::Money::new(s.closing, sek()))
            .replace('\u{a0}', " "),
        money
            .money(coop_domain::Money::new(s.total_vat, sek()))
            .replace('\u{a0}', " "),
    ] {
        assert!(
            sv.replace('\u{a0}', " ").contains(&expected),
            "{expected:?} not in the PDF's text:\n{sv}"
        );
    }
    let en = pages_text(&render(&s, Lang::En)).join("\n");
    assert!(
        en.contains("Statement") && en.contains("Purchases per VAT rate"),
        "{en}"
    );
}

#[test]
fn a_long_statement_runs_on_to_more_pages_with_its_heads_on_each() {
    let purchases: Vec<Purchase> = (0..150)
        .map(|i| Purchase {
            on: d(2026, 11, 1 + i % 28),
            source_key: format!("coop-pos:sale:{i:08}"),
            vat_percent: dec!(6),
            net: dec!(94.34),
            vat: dec!(5.66),
        })
        .collect();
    let s = statement::Statement {
        wallet_id: Uuid::new_v4(),
        owner_name: "Núñez Călinescu".into(),
        payment_reference: Some("12345".into()),
        from: d(2026, 11, 1),
        to: d(2026, 11, 30),
        opening: dec!(20000),
        paid_in: Decimal::ZERO,
        spent: dec!(15000),
        adjusted: Decimal::ZERO,
        closing: dec!(5000),
        movements: Vec::new(),
        purchases,
        vat: vec![statement::VatLine {
            vat_percent: dec!(6),
            net: dec!(14151),
            vat: dec!(849),
            gross: dec!(15000),
        }],
        total_net: dec!(14151),
        total_vat: dec!(849),
        total_gross: dec!(15000),
    };
    let pages = pages_text(&render(&s, Lang::En));
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let count = pages.len();
    for (i, text) in pages.iter().enumerate() {
        assert!(
            text.contains(&format!("page {} / {count}", i + 1)),
            "page {i}: {text}"
        );
    }
    // The purchases' column heads stand again on the pages the table runs on to.
    assert!(pages[1].contains("Without VAT"), "{}", pages[1]);
    // A name with letters the standard fonts lack keeps its base letters.
    assert!(pages[0].contains("Núñez Calinescu"), "{}", pages[0]);
    // 150 purchases, every one on some page.
    let receipts: usize = pages
        .iter()
        .map(|p| p.matches("Shop, receipt").count())
        .sum();
    assert_eq!(receipts, 150);
}
