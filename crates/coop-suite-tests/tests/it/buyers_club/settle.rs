//! The buyers club and coop-finance kept in step when answers are lost: a hold made, changed
//! or released at coop-finance whose answer never came back is put right by the member's next
//! change; a completion whose captures were cut short stays `completing` (nothing about the
//! order changes) and finishes later with the same amounts, charging each member once. Also:
//! an approved change above the hold raises it first, cancelling gives every hold back, and
//! re-opening withdraws what was agreed about the last delivery.
//!
//! The wallet is coop-finance's real API; [`Lossy`] only loses answers on the way back (the
//! call has gone through when the caller hears a timeout), or fails a call before it is made.

use std::sync::Mutex;

use chrono::Duration;
use coop_buyers_club::store::{self, Actor, Refused};
use coop_buyers_club::wallet::{Wallet, WalletError, WalletFuture};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::common::{club, now, vat_percent, Club};

/// coop-finance's wallet, losing answers: each name in `lose` is one call of that kind that
/// goes through at coop-finance and is then reported as unreachable; each in `down`, one
/// call that fails before it is made.
struct Lossy<'a> {
    inner: &'a dyn Wallet,
    lose: Mutex<Vec<&'static str>>,
    down: Mutex<Vec<&'static str>>,
}

impl<'a> Lossy<'a> {
    fn new(inner: &'a dyn Wallet) -> Self {
        Self {
            inner,
            lose: Mutex::new(Vec::new()),
            down: Mutex::new(Vec::new()),
        }
    }
    fn lose(self, what: &'static str) -> Self {
        self.lose.lock().unwrap().push(what);
        self
    }
    fn down(self, what: &'static str) -> Self {
        self.down.lock().unwrap().push(what);
        self
    }
    fn take(list: &Mutex<Vec<&'static str>>, what: &str) -> bool {
        let mut l = list.lock().unwrap();
        match l.iter().position(|w| *w == what) {
            Some(i) => {
                l.remove(i);
                true
            }
            None => false,
        }
    }
    async fn run(&self, what: &'static str, call: WalletFuture<'_>) -> Result<(), WalletError> {
        if Self::take(&self.down, what) {
            return Err(WalletError::Unavailable("refused before sending".into()));
        }
        let r = call.await;
        if Self::take(&self.lose, what) {
            r?;
            return Err(WalletError::Unavailable("the answer was lost".into()));
        }
        r
    }
}

impl Wallet for Lossy<'_> {
    fn hold<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(self.run("hold", self.inner.hold(member, key, amount)))
    }
    fn adjust<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(self.run("adjust", self.inner.adjust(member, key, amount)))
    }
    fn release<'a>(&'a self, key: &'a str) -> WalletFuture<'a> {
        Box::pin(self.run("release", self.inner.release(key)))
    }
    fn capture<'a>(&'a self, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(self.run("capture", self.inner.capture(key, amount)))
    }
}

async fn buy_with(
    c: &Club,
    wallet: &dyn Wallet,
    member: Uuid,
    order: Uuid,
    product: Uuid,
    quantity: Decimal,
) -> Result<(), Refused> {
    store::set_purchase(
        &c.db,
        wallet,
        Actor::Member(member),
        order,
        member,
        product,
        quantity,
        Decimal::ZERO,
        now(),
        2,
    )
    .await
}

async fn complete_with(
    c: &Club,
    wallet: &dyn Wallet,
    who: Uuid,
    order: Uuid,
) -> Result<(), Refused> {
    store::complete(
        &c.db,
        wallet,
        who,
        order,
        now(),
        now().date_naive(),
        2,
        &vat_percent,
    )
    .await
}

async fn state(c: &Club, order: Uuid) -> String {
    store::order(&c.db, order).await.unwrap().unwrap().state
}

async fn recorded_hold(c: &Club, order: Uuid, member: Uuid) -> (i32, Decimal) {
    sqlx::query_as(
        "select generation, amount from wallet_hold where order_id = $1 and member_id = $2",
    )
    .bind(order)
    .bind(member)
    .fetch_one(&c.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn lost_answers_are_put_right_and_each_member_is_charged_once() {
    let c = club().await;
    let (alice, bo, cecilia) = (
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
    );
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;

    // A hold made whose answer was lost: the purchase is refused (undone here), yet
    // coop-finance holds 89.
    let lossy = Lossy::new(&c.wallet).lose("hold");
    assert!(matches!(
        buy_with(&c, &lossy, bo, order, honey, dec!(1)).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(c.count("select count(*) from purchase").await, 0);
    assert_eq!(c.wallet_of(bo).await.0, dec!(89));
    // Bo tries again with two jars: coop-finance's hold under that key is adjusted to 178,
    // not a second hold beside it.
    c.buy(bo, order, honey, dec!(2), dec!(0)).await.unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(178));
    assert_eq!(recorded_hold(&c, order, bo).await, (1, dec!(178)));

    // A release whose answer was lost: coop-finance let go of it, the purchase stays here.
    let lossy = Lossy::new(&c.wallet).lose("release");
    assert!(matches!(
        buy_with(&c, &lossy, bo, order, honey, dec!(0)).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(c.wallet_of(bo).await.0, dec!(0));
    assert_eq!(recorded_hold(&c, order, bo).await, (1, dec!(178)));
    // Bo's next change finds the key settled and holds under the next one.
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(89));
    assert_eq!(recorded_hold(&c, order, bo).await, (2, dec!(89)));

    // An adjustment whose answer was lost: the next change names the new total.
    let lossy = Lossy::new(&c.wallet).lose("adjust");
    assert!(matches!(
        buy_with(&c, &lossy, bo, order, oats, dec!(6)).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(c.wallet_of(bo).await.0, dec!(238.40));
    buy_with(&c, &c.wallet, bo, order, oats, dec!(1))
        .await
        .unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(113.90));

    // Cecilia's only try was lost: nothing is hers here, but coop-finance holds 89 of hers,
    // which the order's completion gives back.
    let lossy = Lossy::new(&c.wallet).lose("hold");
    assert!(matches!(
        buy_with(&c, &lossy, cecilia, order, honey, dec!(1)).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(c.wallet_of(cecilia).await, (dec!(89), dec!(1000)));

    // Alice fills the oats' case so the order is above its threshold.
    c.buy(alice, order, oats, dec!(5), dec!(0)).await.unwrap();
    store::close(&c.db, alice, order, now(), 2).await.unwrap();

    // Completing: the first capture's answer is lost. The order stays completing ...
    let lossy = Lossy::new(&c.wallet).lose("capture");
    assert!(matches!(
        complete_with(&c, &lossy, alice, order).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(state(&c, order).await, "completing");
    assert_eq!(c.count("select count(*) from feed_event").await, 0);
    // ... and nothing about it changes now: no purchase, change, re-opening or cancelling.
    let before = c.snapshot().await;
    assert!(matches!(
        c.buy(bo, order, honey, dec!(2), dec!(0)).await,
        Err(Refused::WrongState("completing"))
    ));
    assert!(matches!(
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            oats,
            dec!(0),
            dec!(0),
            now(),
            2
        )
        .await,
        Err(Refused::WrongState("completing"))
    ));
    assert!(matches!(
        store::request_change(&c.db, alice, order, honey, bo, dec!(0), "none came", now()).await,
        Err(Refused::WrongState("completing"))
    ));
    assert!(matches!(
        store::reopen(&c.db, alice, order, now() + Duration::days(1), now()).await,
        Err(Refused::WrongState("completing"))
    ));
    assert!(matches!(
        store::cancel(&c.db, &c.wallet, alice, order, now()).await,
        Err(Refused::WrongState("completing"))
    ));
    assert!(matches!(
        store::hand_over(&c.db, alice, order, bo).await,
        Err(Refused::WrongState("completing"))
    ));
    assert_eq!(c.snapshot().await, before);

    // The service's retry finishes it with the same amounts.
    assert_eq!(
        store::settle_pending(&c.db, &c.wallet, now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(state(&c, order).await, "completed");
    // Bo: one jar and one packet, charged once; Alice five packets; Cecilia's stray hold is
    // given back and she pays nothing.
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(886.10)));
    assert_eq!(c.wallet_of(alice).await, (dec!(0), dec!(875.50)));
    assert_eq!(c.wallet_of(cecilia).await, (dec!(0), dec!(1000)));
    assert_eq!(
        c.count("select count(*) from feed_event where kind = 'order.completed'")
            .await,
        1
    );
    // Completing again, or the retry again, changes nothing.
    assert!(matches!(
        complete_with(&c, &c.wallet, alice, order).await,
        Err(Refused::WrongState("completed"))
    ));
    assert_eq!(
        store::settle_pending(&c.db, &c.wallet, now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(886.10)));
    let movements: i64 =
        sqlx::query_scalar("select count(*) from wallet_movement where kind = 'capture'")
            .fetch_one(&c.books)
            .await
            .unwrap();
    assert_eq!(movements, 2, "one capture each for Alice and Bo");
}

#[tokio::test]
async fn coop_finance_down_at_completion_leaves_it_to_the_retry() {
    let c = club().await;
    let (alice, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    c.buy(bo, order, honey, dec!(2), dec!(0)).await.unwrap();
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    let down = Lossy::new(&c.wallet).down("capture");
    assert!(matches!(
        complete_with(&c, &down, alice, order).await,
        Err(Refused::WalletUnavailable)
    ));
    assert_eq!(state(&c, order).await, "completing");
    assert_eq!(c.wallet_of(bo).await, (dec!(178), dec!(1000)));
    // The manager presses complete again.
    complete_with(&c, &c.wallet, alice, order).await.unwrap();
    assert_eq!(state(&c, order).await, "completed");
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(822)));
}

#[tokio::test]
async fn an_approved_change_above_the_hold_raises_it_first() {
    let c = club().await;
    let (alice, bo, cecilia) = (
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
        c.member(dec!(160)).await,
    );
    let (supplier, [oats, _, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats]).await;
    c.buy(bo, order, oats, dec!(6), dec!(0)).await.unwrap();
    c.buy(cecilia, order, oats, dec!(6), dec!(0)).await.unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(149.40));
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    // The supplier sent a packet more each.
    let bo_more = store::request_change(
        &c.db,
        alice,
        order,
        oats,
        bo,
        dec!(7),
        "one more came",
        now(),
    )
    .await
    .unwrap();
    let ce_more = store::request_change(
        &c.db,
        alice,
        order,
        oats,
        cecilia,
        dec!(7),
        "one more came",
        now(),
    )
    .await
    .unwrap();
    // Bo approves: his hold grows to 174.30 with it.
    store::answer_change(&c.db, &c.wallet, bo, bo_more, true, "", now(), 2)
        .await
        .unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(174.30));
    // Cecilia has 160: approving is refused, and nothing changes.
    let before = c.snapshot().await;
    assert!(matches!(
        store::answer_change(&c.db, &c.wallet, cecilia, ce_more, true, "", now(), 2).await,
        Err(Refused::Insufficient { .. })
    ));
    assert_eq!(c.snapshot().await, before);
    assert_eq!(c.wallet_of(cecilia).await.0, dec!(149.40));
    // She disputes; Alice withdraws it; the order completes with Bo charged his seven.
    store::answer_change(
        &c.db,
        &c.wallet,
        cecilia,
        ce_more,
        false,
        "I cannot pay more",
        now(),
        2,
    )
    .await
    .unwrap();
    store::withdraw_change(&c.db, alice, ce_more, now())
        .await
        .unwrap();
    complete_with(&c, &c.wallet, alice, order).await.unwrap();
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(825.70)));
    assert_eq!(c.wallet_of(cecilia).await, (dec!(0), dec!(10.60)));
}

#[tokio::test]
async fn cancelling_gives_every_hold_back() {
    let c = club().await;
    let (alice, bo, cecilia) = (
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
    );
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    c.buy(cecilia, order, oats, dec!(2), dec!(1)).await.unwrap();
    // Only the manager cancels.
    let before = c.snapshot().await;
    assert!(matches!(
        store::cancel(&c.db, &c.wallet, bo, order, now()).await,
        Err(Refused::NotManager)
    ));
    assert_eq!(c.snapshot().await, before);
    // coop-finance is down when Alice cancels: the order is cancelled all the same, and the
    // holds follow with the retry.
    let down = Lossy::new(&c.wallet).down("release");
    store::cancel(&c.db, &down, alice, order, now())
        .await
        .unwrap();
    assert_eq!(state(&c, order).await, "cancelled");
    assert_eq!(
        c.wallet_of(bo).await.0,
        dec!(89),
        "the first release failed"
    );
    assert_eq!(
        store::settle_pending(&c.db, &c.wallet, now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(1000)));
    assert_eq!(c.wallet_of(cecilia).await, (dec!(0), dec!(1000)));
    // Nothing more happens to a cancelled order.
    assert!(matches!(
        c.buy(bo, order, honey, dec!(2), dec!(0)).await,
        Err(Refused::WrongState("cancelled"))
    ));
    assert!(matches!(
        store::reopen(&c.db, alice, order, now() + Duration::days(1), now()).await,
        Err(Refused::WrongState("cancelled"))
    ));
    assert!(matches!(
        complete_with(&c, &c.wallet, alice, order).await,
        Err(Refused::WrongState("cancelled"))
    ));
    assert_eq!(
        c.count("select count(*) from notice where kind = 'cancelled'")
            .await,
        1
    );
}

#[tokio::test]
async fn reopening_withdraws_what_was_agreed_about_the_last_delivery() {
    let c = club().await;
    let (alice, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    c.buy(bo, order, oats, dec!(6), dec!(0)).await.unwrap();
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    let change =
        store::request_change(&c.db, alice, order, oats, bo, dec!(4), "two missing", now())
            .await
            .unwrap();
    store::answer_change(&c.db, &c.wallet, bo, change, true, "", now(), 2)
        .await
        .unwrap();
    let bo_part = |parts: &[store::Part]| parts.iter().find(|p| p.member == bo).unwrap().total;
    assert_eq!(
        bo_part(&store::parts(&c.db, order, 2, &vat_percent).await.unwrap()),
        dec!(99.60)
    );
    // The supplier will send more: Alice opens the order again. The change is withdrawn, and
    // Bo's part is what the cases give again.
    store::reopen(&c.db, alice, order, now() + Duration::days(1), now())
        .await
        .unwrap();
    assert_eq!(
        c.count("select count(*) from purchase_change where state = 'approved'")
            .await,
        0
    );
    assert_eq!(
        bo_part(&store::parts(&c.db, order, 2, &vat_percent).await.unwrap()),
        dec!(149.40)
    );
    // Re-opening tells the members again (a reminder comes again before the new end).
    assert_eq!(
        c.count("select count(*) from notice where kind = 'opened'")
            .await,
        2
    );
}
