//! Returns against the original sale, over the till's real store: part of a line and then the
//! rest, never more than was sold nor twice; at the original's prices (member prices too) and
//! VAT rates; cash rounded to the coin or back to the member's wallet; a manager above the
//! limit, named on the record. What is refused writes nothing.

use coop_pos_till::checkout::{self, Completion};
use coop_pos_till::journal::{Chain, SaleKind, SaleRecord};
use coop_pos_till::returns::{self, ReturnError, ReturnRequest};
use coop_pos_till::store::Store;
use coop_pos_till::tender::Given;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::checkout::{at, settings, till};

/// Oats ×3 (member price 22.90), 0.5 kg cheese (139.00/kg) and a six-pack (64.90 for a member)
/// to Alva, paid 300 in cash.
async fn sold(store: &Store) -> SaleRecord {
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(store, &s, basket, "HAV-1KG", Some(dec!(3)))
        .await
        .unwrap();
    checkout::scan(store, &s, basket, "123", Some(dec!(0.5)))
        .await
        .unwrap();
    checkout::scan(
        store,
        &s,
        basket,
        &crate::checkout::ean13("731000100012"),
        None,
    )
    .await
    .unwrap();
    store.set_member(basket, Some("m-alva")).await.unwrap();
    checkout::complete(
        store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &[Given {
                tender: "cash".into(),
                amount: dec!(300),
            }],
            now: at(2),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap()
}

fn request<'a>(
    original: Uuid,
    quantities: &'a [(usize, Decimal)],
    tender: &'a str,
    approved_by: Option<&'a str>,
) -> ReturnRequest<'a> {
    ReturnRequest {
        till: "kassa-1",
        cashier: "c-kim",
        original,
        quantities,
        tender,
        approved_by,
        now: at(3),
        card: None,
    }
}

async fn journal_len(store: &Store) -> usize {
    store.recent(1000).await.unwrap().len()
}

#[tokio::test]
async fn a_sale_comes_back_in_parts_at_its_own_prices_and_never_twice() {
    let (_dir, store) = till().await;
    let s = settings();
    let sale = sold(&store).await;
    // 3 × 22.90 (member price) + 0.5 kg × 139.00 + a six-pack at 64.90.
    assert_eq!(sale.total, dec!(203.10));

    // One packet of oats back in cash: its member price, rounded to the krona as cash is.
    let one = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(1))], "cash", None),
    )
    .await
    .unwrap();
    assert_eq!(one.kind, SaleKind::Return);
    assert_eq!(one.original_sale, Some(sale.sale_id));
    assert_eq!(one.member.as_deref(), Some("m-alva"));
    assert_eq!(
        (
            one.lines[0].quantity,
            one.lines[0].unit_price,
            one.lines[0].amount
        ),
        (dec!(-1), dec!(22.90), dec!(-22.90))
    );
    assert_eq!((one.total, one.rounding), (dec!(-22.90), dec!(-0.10)));
    assert_eq!(one.tenders[0].amount, dec!(-23));
    assert_eq!(one.change, Decimal::ZERO);
    assert_eq!(one.by_rate[0].vat_percent, dec!(6));
    assert_eq!(one.by_rate[0].net + one.by_rate[0].vat, dec!(-22.90));

    // Three more packets: only two are left. Nothing is written.
    let before = journal_len(&store).await;
    let e = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(3))], "cash", None),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, ReturnError::TooMuch { line: 1, left } if left == dec!(2)),
        "{e:?}"
    );
    // The rest of the oats and the cheese to her wallet: 115.30, above the limit of 100.
    let rest = [(1, dec!(2)), (2, dec!(0.5))];
    let e = returns::complete(&store, &s, &request(sale.sale_id, &rest, "wallet", None))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ReturnError::NeedsManager(a) if a == dec!(115.30)),
        "{e:?}"
    );
    // Not by card, not by a voucher, not a negative quantity, not a line that is not there.
    for (q, tender) in [(vec![(3, dec!(1))], "card"), (vec![(3, dec!(1))], "frukt")] {
        let e = returns::complete(&store, &s, &request(sale.sale_id, &q, tender, None))
            .await
            .unwrap_err();
        assert!(matches!(e, ReturnError::Tender(_)), "{e:?}");
    }
    for q in [
        vec![(3, dec!(-1))],
        vec![(9, dec!(1))],
        vec![],
        vec![(2, dec!(0.0005))],
    ] {
        assert!(
            returns::complete(&store, &s, &request(sale.sale_id, &q, "cash", None))
                .await
                .is_err(),
            "{q:?}"
        );
    }
    assert_eq!(journal_len(&store).await, before);

    let two = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &rest, "wallet", Some("c-mgr")),
    )
    .await
    .unwrap();
    assert_eq!(two.approved_by.as_deref(), Some("c-mgr"));
    // The last of the oats is exactly what is left of the line: 68.70 less 22.90.
    assert_eq!(two.lines[0].amount, dec!(-45.80));
    assert_eq!(two.total, dec!(-115.30));
    assert_eq!(
        (
            two.tenders[0].kind.as_str(),
            two.tenders[0].amount,
            two.rounding
        ),
        ("wallet", dec!(-115.30), Decimal::ZERO)
    );

    let left = returns::returnable(&store, &sale).await.unwrap();
    let left: Vec<Decimal> = left.iter().map(|l| l.left).collect();
    assert_eq!(left, vec![dec!(0), dec!(0), dec!(1)]);
    // The six-pack: the sale's returns come to 203.10 with it, above the limit of 100 counted
    // over all of them, so a manager allows it too. Then nothing more: the returns add up to
    // the sale, never beyond.
    let e = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(3, dec!(1))], "cash", None),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, ReturnError::NeedsManager(a) if a == dec!(64.90)),
        "{e:?}"
    );
    let three = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(3, dec!(1))], "cash", Some("c-mgr")),
    )
    .await
    .unwrap();
    assert_eq!(one.total + two.total + three.total, -sale.total);
    assert!(returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(3, dec!(1))], "cash", None)
    )
    .await
    .is_err());
    // A return is not returned; a sale from elsewhere is not found.
    assert!(matches!(
        returns::plan(&store, &s, three.sale_id, &[(1, dec!(1))]).await,
        Err(ReturnError::NotASale)
    ));
    assert!(matches!(
        returns::plan(&store, &s, Uuid::new_v4(), &[(1, dec!(1))]).await,
        Err(ReturnError::NoSale(_))
    ));
    // The journal's chain holds across sales and returns.
    let mut records = store.recent(100).await.unwrap();
    records.reverse();
    let mut chain = Chain::default();
    for r in &records {
        chain.accept(r).unwrap();
    }
    assert_eq!(records.len(), 4);
}

#[tokio::test]
async fn a_walk_in_is_paid_back_in_cash_not_to_a_wallet() {
    let (_dir, store) = till().await;
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(&store, &s, basket, "HAV-1KG", None)
        .await
        .unwrap();
    let sale = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &[Given {
                tender: "cash".into(),
                amount: dec!(30),
            }],
            now: at(2),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap();
    let e = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(1))], "wallet", None),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ReturnError::NoWallet), "{e:?}");
    let back = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(1))], "cash", None),
    )
    .await
    .unwrap();
    // Shelf price, not the member price: he was no member.
    assert_eq!(
        (back.total, back.tenders[0].amount),
        (dec!(-24.90), dec!(-25))
    );
    assert!(back.member.is_none());
}

#[tokio::test]
async fn two_returns_of_the_same_at_once_pay_back_once() {
    let (_dir, store) = till().await;
    let s = settings();
    let sale = sold(&store).await;
    let q = [(1, dec!(3))];
    let (first, second) = (
        request(sale.sale_id, &q, "cash", None),
        request(sale.sale_id, &q, "cash", None),
    );
    let (a, b) = tokio::join!(
        returns::complete(&store, &s, &first),
        returns::complete(&store, &s, &second),
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} / {b:?}");
    let refused = if a.is_ok() { b } else { a };
    assert!(matches!(refused, Err(ReturnError::TooMuch { left, .. }) if left.is_zero()));
    assert_eq!(store.returns_of(sale.sale_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_card_sale_is_refunded_in_cash_only_with_a_manager() {
    let (_dir, store) = till().await;
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(&store, &s, basket, "HAV-1KG", None)
        .await
        .unwrap();
    let sale = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &[Given {
                tender: "card".into(),
                amount: dec!(24.90),
            }],
            now: at(2),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap();
    let e = returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(1))], "cash", None),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ReturnError::NeedsManager(_)), "{e:?}");
    returns::complete(
        &store,
        &s,
        &request(sale.sale_id, &[(1, dec!(1))], "cash", Some("c-mgr")),
    )
    .await
    .unwrap();
}
