//! Faults on the running suite, each under the till's steady selling, and one invariant checked
//! after each: **every sale the till made is at central once, taken off stock at coop-ims once
//! and booked at coop-finance once; the counts agree, and so do the sums** (central's totals,
//! the cash the ledger's entries put in the till). Nothing lost, nothing doubled, every feed
//! resumed.
//!
//! The faults, in turn: each service killed with SIGKILL and started again; PostgreSQL
//! restarted; the till cut off from the server for a day of trading, then back; every upload
//! sent twice at the same moment (the whole test long, through [`Proxy`]); the ledger's and
//! inventory's feed consumers killed in the middle of a batch.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::browser::Browser;
use crate::people::Person;
use crate::proxy::Proxy;
use crate::suite::Suite;

/// The shelf price of the oats every sale sells one packet of, and what is paid for it in cash
/// (rounded to the krona).
const PRICE: Decimal = dec!(24.90);
const PAID: Decimal = dec!(25);

struct Shop {
    kiosk: Browser,
    till: String,
    sold: i64,
}

impl Shop {
    /// One walk-in sale of a packet of oats, paid in cash, at the till (which works whether or
    /// not the server answers).
    async fn sell(&mut self) {
        let page = self.kiosk.get(&format!("{}/", self.till)).await;
        let page = self
            .kiosk
            .submit(&page, Some("/scan"), &[("code", "7310001000019")], None)
            .await;
        let receipt = self
            .kiosk
            .submit(&page, Some("/pay"), &[("t-cash", "30")], None)
            .await;
        assert!(
            receipt.path().starts_with("/receipts/"),
            "sale {}: {}",
            self.sold + 1,
            receipt.text()
        );
        self.sold += 1;
    }

    async fn sell_n(&mut self, n: usize) {
        for _ in 0..n {
            self.sell().await;
        }
    }
}

/// Waits (up to two minutes) until central, inventory and the ledger each hold every sale the
/// till made, once, with the sums agreeing; fails the test naming what disagrees.
async fn agree(suite: &Suite, shop: &Shop, after: &str) {
    let (pos, ims, finance) = (
        suite.db("pos").await,
        suite.db("ims").await,
        suite.db("finance").await,
    );
    let n = shop.sold;
    let expected = (
        n,
        Decimal::from(n) * PRICE,
        Decimal::from(n),
        n,
        Decimal::from(n) * PAID,
    );
    let mut last = None;
    for _ in 0..480 {
        let central: (i64, Option<Decimal>) =
            sqlx::query_as("select count(*), sum(total) from sale where kind = 'sale'")
                .fetch_one(&pos)
                .await
                .unwrap_or((-1, None));
        let sold: Option<Decimal> = sqlx::query_scalar(
            "select -sum(quantity) from stock_movement where source_key like 'coop-pos:sale:%'",
        )
        .fetch_one(&ims)
        .await
        .unwrap_or(None);
        let books: (i64, Option<Decimal>) = sqlx::query_as(
            "select count(distinct e.journal_entry_id), sum(l.amount) filter (where l.account_number = 1910) \
             from journal_entry e join journal_line l using (journal_entry_id) \
             where e.source_key like 'coop-pos:sale:%'",
        )
        .fetch_one(&finance)
        .await
        .unwrap_or((-1, None));
        let got = (
            central.0,
            central.1.unwrap_or_default(),
            sold.unwrap_or_default(),
            books.0,
            books.1.unwrap_or_default(),
        );
        if got == expected {
            eprintln!("faults: after {after}: {n} sales agree everywhere");
            return;
        }
        last = Some(got);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "after {after}: (central sales, their total, sold at coop-ims, entries at coop-finance, \
         cash booked) are {last:?}, not {expected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_faults_lose_nothing_and_double_nothing() {
    let _alone = crate::suite::ALONE.lock().await;
    let mut suite = Suite::start(false).await;
    // Cecilia (cashier and manager) from coop-sso's demo members, with her password.
    let out = suite.cli("sso", &["demo-seed"]);
    let line = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("cecilia@"))
        .expect("Cecilia among the demo members")
        .to_owned();
    let mut cecilia = Person::new("Cecilia Ek", "cecilia@demo.coop");
    cecilia.password = line.split_whitespace().nth(1).unwrap().to_owned();

    // The till reaches central through the proxy; it pairs from the console.
    let proxy = Proxy::start(suite.url("pos")).await;
    suite.start_till(Some(&proxy.url));
    let till = suite.till.as_ref().unwrap().url.clone();
    let kiosk = Browser::new("the till's screen");
    let code = crate::week::pairing_code(&kiosk, &till).await;
    suite.cli("sso", &["pair-till", "--code", &code, "--name", "Kassa 1"]);
    let page = cecilia.open(&suite, "pos", "/pin").await;
    cecilia
        .browser
        .submit(
            &page,
            Some("/pin"),
            &[("pin", "2580"), ("again", "2580")],
            None,
        )
        .await;
    let mut page = None;
    for _ in 0..240 {
        if let Some(p) = kiosk.try_get(&format!("{till}/")).await {
            if p.body.contains("name=\"cashier\"") {
                page = Some(p);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let page = page.expect("the till lists its cashiers");
    kiosk
        .submit(&page, Some("/unlock"), &[("pin", "2580")], None)
        .await;
    let page = kiosk.get(&format!("{till}/shift")).await;
    kiosk
        .submit(&page, Some("/shift/open"), &[("amount", "500")], None)
        .await;
    let mut shop = Shop {
        kiosk,
        till,
        sold: 0,
    };
    shop.sell_n(3).await;
    agree(&suite, &shop, "the first sales").await;

    // Each service killed outright while the till sells, then started again.
    for key in ["pos", "ims", "finance", "sso", "buyers_club"] {
        shop.sell_n(2).await;
        suite.kill9(key);
        shop.sell_n(3).await;
        suite.spawn(key);
        suite.wait_ready().await;
        shop.sell_n(2).await;
        agree(
            &suite,
            &shop,
            &format!("coop-{key} killed and started again"),
        )
        .await;
    }

    // PostgreSQL restarted (as `systemctl restart postgresql` does) while the till sells.
    shop.sell_n(2).await;
    coop_testkit::postgres::cluster().restart();
    shop.sell_n(3).await;
    suite.wait_ready().await;
    agree(&suite, &shop, "PostgreSQL restarted").await;

    // The shop's line to the server is cut for a day of trading; the till sells on, and once
    // the line is back every sale arrives, once.
    proxy.cut(true);
    let before: i64 = sqlx::query_scalar("select count(*) from sale")
        .fetch_one(&suite.db("pos").await)
        .await
        .unwrap();
    shop.sell_n(40).await;
    let during: i64 = sqlx::query_scalar("select count(*) from sale")
        .fetch_one(&suite.db("pos").await)
        .await
        .unwrap();
    assert_eq!(
        during, before,
        "nothing reached central while the line was cut"
    );
    proxy.cut(false);
    agree(&suite, &shop, "a day cut off from the server").await;

    // The ledger's and inventory's feed consumers killed in the middle of a batch: each is
    // stopped while the till sells, started with a backlog and killed again a moment later.
    for (key, db, taken) in [
        (
            "finance",
            "finance",
            "select count(*) from journal_entry where source_key like 'coop-pos:sale:%'",
        ),
        (
            "ims",
            "ims",
            "select count(distinct source_key) from stock_movement where source_key like 'coop-pos:sale:%'",
        ),
    ] {
        suite.kill9(key);
        shop.sell_n(30).await;
        agree_at_central(&suite, &shop).await;
        let pool = suite.db(db).await;
        let count = || async {
            sqlx::query_scalar::<_, i64>(taken)
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        let before = count().await;
        // Started and killed again, a little later each time, so some kills fall while it
        // works through the backlog. A consumer takes a batch in one transaction, so a kill
        // leaves none or all of it taken (the output says which), never a part booked twice.
        for delay_ms in [20, 60, 120, 200, 300, 450] {
            suite.spawn(key);
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            suite.kill9(key);
            eprintln!(
                "faults: coop-{key} killed {delay_ms} ms after its start, having taken {} of \
                 its backlog of {}",
                count().await - before,
                shop.sold - before
            );
        }
        suite.spawn(key);
        suite.wait_ready().await;
        agree(&suite, &shop, &format!("coop-{key} killed in the middle of a batch")).await;
    }

    assert!(proxy.doubled() > 0, "uploads were sent twice at once");
    assert_eq!(proxy.problems(), Vec::<String>::new());
    eprintln!(
        "faults: {} sales, {} uploads each sent twice at once",
        shop.sold,
        proxy.doubled()
    );
}

/// Waits until central has every sale (the backlog the stopped consumer finds).
async fn agree_at_central(suite: &Suite, shop: &Shop) {
    let pos = suite.db("pos").await;
    for _ in 0..240 {
        let n: i64 = sqlx::query_scalar("select count(*) from sale")
            .fetch_one(&pos)
            .await
            .unwrap();
        if n == shop.sold {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("central did not get the sales");
}
