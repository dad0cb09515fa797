//! A demo till's history, only for `cargo xtask demo`: a few weeks of believable sales made with
//! the till's own checkout over the catalogue and members it pulled (weighed goods by weight,
//! a member on some, cash rounded up to a note or card), dated on the days they stand for. They
//! go into the journal like any sale, and the till uploads them to central, from where coop-ims
//! takes them off the stock and coop-finance books them. Never on a real co-op's till.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use rust_decimal::Decimal;

use crate::checkout::{self, Completion, TillSettings};
use crate::pricing::SaleUnit;
use crate::store::Store;
use crate::tender::Given;

/// A small deterministic generator: the same demo every time.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Makes `days` days of sales ending yesterday, unless the journal has sales already. Answers
/// how many it made.
pub async fn sales(
    store: &Store,
    settings: &TillSettings,
    till_id: &str,
    days: u32,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    if !store.recent(1).await?.is_empty() {
        return Ok(0);
    }
    let products = store.search("", 1000).await?;
    anyhow::ensure!(!products.is_empty(), "the till has no catalogue yet");
    let members = store.active_members(50).await?;
    anyhow::ensure!(
        !settings.member_only || !members.is_empty(),
        "this co-op sells to members only, and the till knows no active member yet"
    );
    let tz: chrono_tz::Tz = settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut rng = Lcg(7);
    let mut made = 0;
    for back in (1..=days).rev() {
        let day = today - Duration::days(i64::from(back));
        let count = 12 + rng.below(20);
        for i in 0..count {
            // Opening hours 10 to 19, in order through the day.
            let minutes = 600 + i * 540 / count + rng.below(540 / count.max(1));
            let at: DateTime<Utc> = tz
                .from_local_datetime(
                    &day.and_time(
                        NaiveTime::from_num_seconds_from_midnight_opt(
                            u32::try_from(minutes * 60).unwrap_or(36_000),
                            0,
                        )
                        .unwrap_or(NaiveTime::MIN),
                    ),
                )
                .earliest()
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            let basket = store.open_basket("demo").await?;
            for _ in 0..=rng.below(5) {
                let p = &products[usize::try_from(rng.below(products.len() as u64)).unwrap_or(0)];
                let quantity = if p.unit == SaleUnit::Each {
                    Decimal::from(1 + rng.below(3))
                } else {
                    // 200 g to 1.5 kg (or litres).
                    Decimal::new(i64::try_from(200 + rng.below(1300)).unwrap_or(500), 3)
                };
                checkout::scan(store, settings, basket, &p.sku, Some(quantity)).await?;
            }
            // A members-only co-op sells only to members; otherwise two sales in five.
            if !members.is_empty() && (settings.member_only || rng.below(5) < 2) {
                let m = &members[usize::try_from(rng.below(members.len() as u64)).unwrap_or(0)];
                store.set_member(basket, Some(m)).await?;
            }
            let total = checkout::price_basket(store, settings, basket, day)
                .await?
                .priced
                .map_or(Decimal::ZERO, |p| p.total.amount());
            let by_card = rng.below(2) == 0;
            let given = if by_card {
                Given {
                    tender: "card".into(),
                    amount: total,
                }
            } else {
                // Cash: the next 50 kronor up.
                let fifty = Decimal::from(50);
                Given {
                    tender: "cash".into(),
                    amount: ((total / fifty).floor() + Decimal::ONE) * fifty,
                }
            };
            checkout::complete(
                store,
                settings,
                &Completion {
                    till: till_id,
                    basket,
                    cashier: "demo",
                    given: &[given],
                    now: at,
                    training: false,
                    card: None,
                    wallet: None,
                },
            )
            .await?;
            made += 1;
        }
    }
    Ok(made)
}
