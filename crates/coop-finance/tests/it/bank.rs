//! Bank-statement import: a camt.053 statement with matched and unmatched lines, the same file
//! imported twice, a CSV export, matching by hand; a malformed file changes nothing.

use coop_finance::bank::{self, BankError};
use coop_finance::topup::{self, ClaimStatus, Confirmed, NewClaim};
use coop_finance::wallet;
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::topup::{day, setup, POLICY};

const CAMT: &str = include_str!("../fixtures/camt053-november.xml");

#[tokio::test]
async fn a_camt053_statement_credits_what_it_can_and_leaves_the_rest() {
    let pool = setup().await;
    let (alva, bo, cecilia) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let bookkeeper = Uuid::new_v4();
    let wa = wallet::wallet_of(&pool, alva).await.unwrap();
    let wb = wallet::wallet_of(&pool, bo).await.unwrap();
    let wc = wallet::wallet_of(&pool, cecilia).await.unwrap();
    let ocr_a = wallet::payment_reference(&pool, wa).await.unwrap();
    let ocr_c = wallet::payment_reference(&pool, wc).await.unwrap();
    // Bo claimed his transfer with the text he wrote on it.
    let bo_claim = topup::claim(
        &pool,
        &NewClaim {
            wallet: wb,
            member: bo,
            amount: dec!(1200),
            paid_on: day(5),
            bank_reference: "bo berg  November",
        },
        day(6),
        &POLICY,
    )
    .await
    .unwrap();

    let xml = CAMT.replace("@OCR1@", &ocr_a).replace("@OCR2@", &ocr_c);
    let statement = bank::parse_camt053(xml.as_bytes()).unwrap();
    assert_eq!(
        statement.statement_ref.as_deref(),
        Some("SE4550000000058398257466-2026-11")
    );
    // Four booked credits (one a batch of two); the pending one, the debit and the returned
    // credit are not money in.
    assert_eq!(statement.lines.len(), 4);
    assert_eq!(statement.debits, 2);
    assert_eq!(
        statement
            .lines
            .iter()
            .map(|l| l.amount)
            .sum::<rust_decimal::Decimal>(),
        dec!(2050)
    );

    let report = bank::import(
        &pool,
        &statement,
        Some("nov.xml"),
        bookkeeper,
        "SEK",
        &POLICY,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.added,
            report.credited,
            report.awaiting_bookkeeper,
            report.unmatched
        ),
        (4, 3, 0, 1)
    );
    let bal = |w| {
        let pool = pool.clone();
        async move { wallet::balance(&pool, w).await.unwrap().balance }
    };
    assert_eq!(bal(wa).await, dec!(500));
    assert_eq!(bal(wb).await, dec!(1200));
    assert_eq!(bal(wc).await, dec!(250));
    let bo_claim = topup::get(&pool, bo_claim.top_up_claim_id).await.unwrap();
    assert_eq!(bo_claim.status, ClaimStatus::Confirmed);
    assert!(bo_claim.bank_line_id.is_some());
    // Dated the day the bank booked it.
    let date = sqlx::query_scalar!(
        "select entry_date from journal_entry where journal_entry_id = $1",
        bo_claim.journal_entry_id
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(date, day(5));

    // The gift nobody can place waits for a bookkeeper.
    let open = bank::unmatched(&pool).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].amount, open[0].reference.as_str()),
        (dec!(100), "Gåva")
    );
    assert_eq!(open[0].counterparty, "Okänd Givare");

    // The same statement again adds nothing and credits nothing.
    let again = bank::import(&pool, &statement, None, bookkeeper, "SEK", &POLICY)
        .await
        .unwrap();
    assert_eq!(
        (again.added, again.already_imported, again.credited),
        (0, 4, 0)
    );
    assert_eq!(bal(wa).await, dec!(500));

    // Setting the gift aside needs a note, and then it is no longer waiting.
    assert!(matches!(
        bank::set_aside(&pool, open[0].bank_line_id, bookkeeper, "").await,
        Err(BankError::Note)
    ));
    bank::set_aside(
        &pool,
        open[0].bank_line_id,
        bookkeeper,
        "A gift: booked by hand",
    )
    .await
    .unwrap();
    assert!(bank::unmatched(&pool).await.unwrap().is_empty());
    assert!(matches!(
        bank::set_aside(&pool, open[0].bank_line_id, bookkeeper, "again").await,
        Err(BankError::NoLine)
    ));
}

#[tokio::test]
async fn a_csv_statement_and_matching_by_hand() {
    let pool = setup().await;
    let (member, bookkeeper) = (Uuid::new_v4(), Uuid::new_v4());
    let w = wallet::wallet_of(&pool, member).await.unwrap();
    let claim = topup::claim(
        &pool,
        &NewClaim {
            wallet: w,
            member,
            amount: dec!(400),
            paid_on: day(7),
            bank_reference: "4711",
        },
        day(8),
        &POLICY,
    )
    .await
    .unwrap();
    // Swedish column names, semicolons, decimal commas; the payer mistyped the reference.
    let csv = "Bokföringsdag;Belopp;Meddelande;Avsändare\n\
               2026-11-07;400,00;4171;Dana Ek\n\
               2026-11-08;-1 250,00;Hyra;Fastighets AB\n\
               2026-11-09;3 000,00;5555;Erik Ek\n";
    let statement = bank::parse_csv(csv.as_bytes(), "SEK").unwrap();
    assert_eq!((statement.lines.len(), statement.debits), (2, 1));
    let report = bank::import(
        &pool,
        &statement,
        Some("nov.csv"),
        bookkeeper,
        "SEK",
        &POLICY,
    )
    .await
    .unwrap();
    assert_eq!((report.credited, report.unmatched), (0, 2));

    let lines = bank::unmatched(&pool).await.unwrap();
    let (four_hundred, three_thousand) = (&lines[0], &lines[1]);
    // The amounts must agree to match a claim.
    assert!(matches!(
        bank::match_to_claim(
            &pool,
            three_thousand.bank_line_id,
            claim.top_up_claim_id,
            bookkeeper,
            &POLICY
        )
        .await,
        Err(BankError::AmountDiffers)
    ));
    assert!(matches!(
        bank::match_to_claim(
            &pool,
            four_hundred.bank_line_id,
            claim.top_up_claim_id,
            bookkeeper,
            &POLICY
        )
        .await
        .unwrap(),
        Confirmed::Credited { .. }
    ));
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(400));
    // A line is matched once.
    assert!(matches!(
        bank::credit_to_wallet(&pool, four_hundred.bank_line_id, w, bookkeeper, &POLICY).await,
        Err(BankError::NoLine)
    ));
    // 3,000 is above the threshold: credited by hand, it waits for a second bookkeeper.
    assert_eq!(
        bank::credit_to_wallet(&pool, three_thousand.bank_line_id, w, bookkeeper, &POLICY)
            .await
            .unwrap(),
        Confirmed::AwaitingSecond
    );
    let waiting = topup::open(&pool).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(matches!(
        topup::confirm(&pool, waiting[0].top_up_claim_id, bookkeeper, &POLICY).await,
        Err(topup::TopUpError::SameBookkeeper)
    ));
    topup::confirm(&pool, waiting[0].top_up_claim_id, Uuid::new_v4(), &POLICY)
        .await
        .unwrap();
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(3400));
}

#[tokio::test]
async fn a_malformed_file_is_refused_whole() {
    let csv = "date,amount,reference\n2026-11-02,100,A\n2026-11-03,12.345,B\n";
    let e = bank::parse_csv(csv.as_bytes(), "SEK").unwrap_err();
    assert_eq!(e.to_string(), "line 3: \"12.345\" is not an amount");
    let e = bank::parse_camt053(b"<Document><Foo/></Document>").unwrap_err();
    assert!(e.to_string().contains("no Stmt"), "{e}");
    let e = bank::parse_camt053(b"<Document><Stmt><Ntry><Amt Ccy=\"SEK\">1</Amt>").unwrap_err();
    assert!(
        e.to_string().contains("CdtDbtInd") || e.to_string().contains("camt"),
        "{e}"
    );
    let broken = CAMT.replace("2026-11-05", "2026-13-05");
    let e = bank::parse_camt053(broken.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("is not a date"), "{e}");
}
