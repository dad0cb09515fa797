//! The stock reports, each one query over the movements: how fast each product sells (units a
//! day over 7, 28 and 90 days, and how many days the stock lasts at the 28-day pace), what was
//! lost and why, what does not sell, what has run out while members still buy it, and what to
//! order from each supplier (and move from the storeroom to the shop) to last until the next
//! delivery.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::SaleUnit;

/// One product's pace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Velocity {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub supplier_id: Option<Uuid>,
    pub supplier: Option<String>,
    pub lead_time_days: Option<i32>,
    pub case_size: Decimal,
    pub cost: Decimal,
    pub active: bool,
    /// Net sold (sales less returns) in the last 7, 28 and 90 days up to and with `today`.
    pub sold_7: Decimal,
    pub sold_28: Decimal,
    pub sold_90: Decimal,
    /// On hand at the shops, and at every location.
    pub in_shops: Decimal,
    pub on_hand: Decimal,
    pub last_sold: Option<NaiveDate>,
}

impl Velocity {
    /// Units a day at the pace of the last `days` days.
    pub fn per_day(&self, days: u32) -> Decimal {
        let sold = match days {
            7 => self.sold_7,
            28 => self.sold_28,
            _ => self.sold_90,
        };
        (sold / Decimal::from(days)).round_dp(3)
    }

    /// How many days the stock lasts at the 28-day pace; `None` when it does not sell.
    pub fn days_of_cover(&self) -> Option<Decimal> {
        let pace = self.sold_28 / Decimal::from(28);
        (pace > Decimal::ZERO).then(|| (self.on_hand.max(Decimal::ZERO) / pace).round_dp(1))
    }
}

/// Every product's pace and stock on `today`.
pub async fn velocity(db: &PgPool, today: NaiveDate) -> Result<Vec<Velocity>, sqlx::Error> {
    sqlx::query_as!(
        Velocity,
        r#"select p.product_id, p.sku, p.name, p.unit as "unit: SaleUnit", p.supplier_id,
                  s.name as "supplier?", s.lead_time_days as "lead_time_days?", p.case_size,
                  p.cost, p.active,
                  coalesce(v.sold_7, 0) as "sold_7!", coalesce(v.sold_28, 0) as "sold_28!",
                  coalesce(v.sold_90, 0) as "sold_90!",
                  coalesce(h.in_shops, 0) as "in_shops!", coalesce(h.on_hand, 0) as "on_hand!",
                  v.last_sold
           from product p
           left join supplier s using (supplier_id)
           left join (select product_id,
                             -sum(quantity) filter (where occurred_on > $1::date - 7) as sold_7,
                             -sum(quantity) filter (where occurred_on > $1::date - 28) as sold_28,
                             -sum(quantity) as sold_90,
                             max(occurred_on) filter (where kind = 'sold') as last_sold
                      from stock_movement
                      where kind in ('sold', 'returned')
                        and occurred_on > $1::date - 90 and occurred_on <= $1
                      group by product_id) v using (product_id)
           left join (select l.product_id,
                             sum(l.on_hand) filter (where o.kind = 'shop') as in_shops,
                             sum(l.on_hand) as on_hand
                      from stock_level l join location o using (location_id)
                      group by l.product_id) h using (product_id)
           order by coalesce(v.sold_28, 0) desc, p.name"#,
        today
    )
    .fetch_all(db)
    .await
}

/// How many products [`velocity_in_chunks`] reads at a time.
pub const CHUNK: i64 = 5_000;

/// The same rows as [`velocity`], read `chunk` products at a time ([`CHUNK`] in the service;
/// each product's movements through the `(product_id, occurred_on)` index), so that a
/// background job can say how far it has come: `progress` is called after each chunk with the
/// share done so far.
pub async fn velocity_in_chunks<F, Fut>(
    db: &PgPool,
    today: NaiveDate,
    chunk: i64,
    mut progress: F,
) -> Result<Vec<Velocity>, sqlx::Error>
where
    F: FnMut(f64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let total = sqlx::query_scalar!(r#"select count(*) as "n!" from product"#)
        .fetch_one(db)
        .await?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mut out: Vec<Velocity> = Vec::with_capacity(total.max(0) as usize);
    let mut after = Uuid::nil();
    loop {
        let rows = sqlx::query_as!(
            Velocity,
            r#"select p.product_id, p.sku, p.name, p.unit as "unit: SaleUnit", p.supplier_id,
                      s.name as "supplier?", s.lead_time_days as "lead_time_days?", p.case_size,
                      p.cost, p.active,
                      coalesce(v.sold_7, 0) as "sold_7!", coalesce(v.sold_28, 0) as "sold_28!",
                      coalesce(v.sold_90, 0) as "sold_90!",
                      coalesce(h.in_shops, 0) as "in_shops!", coalesce(h.on_hand, 0) as "on_hand!",
                      v.last_sold
               from (select * from product where product_id > $2
                     order by product_id limit $3) p
               left join supplier s using (supplier_id)
               left join lateral (
                   select -sum(m.quantity) filter (where m.occurred_on > $1::date - 7) as sold_7,
                          -sum(m.quantity) filter (where m.occurred_on > $1::date - 28) as sold_28,
                          -sum(m.quantity) as sold_90,
                          max(m.occurred_on) filter (where m.kind = 'sold') as last_sold
                   from stock_movement m
                   where m.product_id = p.product_id and m.kind in ('sold', 'returned')
                     and m.occurred_on > $1::date - 90 and m.occurred_on <= $1) v on true
               left join lateral (
                   select sum(l.on_hand) filter (where o.kind = 'shop') as in_shops,
                          sum(l.on_hand) as on_hand
                   from stock_level l join location o using (location_id)
                   where l.product_id = p.product_id) h on true
               order by p.product_id"#,
            today,
            after,
            chunk
        )
        .fetch_all(db)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.product_id;
        let full = i64::try_from(rows.len()).is_ok_and(|n| n == chunk);
        out.extend(rows);
        #[allow(clippy::cast_precision_loss)]
        progress(out.len() as f64 / total.max(1) as f64).await;
        if !full {
            break;
        }
    }
    // As `velocity` orders them: the fastest first, then by name.
    out.sort_by(|a, b| b.sold_28.cmp(&a.sold_28).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// Active products with stock that have not sold in 90 days, the most stock value first.
pub fn slow_movers(rows: &[Velocity]) -> Vec<&Velocity> {
    let mut slow: Vec<&Velocity> = rows
        .iter()
        .filter(|v| v.active && v.on_hand > Decimal::ZERO && v.sold_90 <= Decimal::ZERO)
        .collect();
    slow.sort_by_key(|v| std::cmp::Reverse(v.on_hand * v.cost));
    slow
}

/// Active products the shops have none of although members bought them in the last 28 days.
pub fn stock_outs(rows: &[Velocity]) -> Vec<&Velocity> {
    rows.iter()
        .filter(|v| v.active && v.in_shops <= Decimal::ZERO && v.sold_28 > Decimal::ZERO)
        .collect()
}

/// Days between deliveries a reorder is meant to last, beyond the lead time.
pub const REVIEW_DAYS: u32 = 7;
/// Extra days of stock held against a busy week.
pub const SAFETY_DAYS: u32 = 3;

/// What to order of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub on_hand: Decimal,
    pub per_day: Decimal,
    /// Stock that lasts the lead time, until the next delivery and a safety margin.
    pub target: Decimal,
    /// Whole cases.
    pub cases: Decimal,
    pub quantity: Decimal,
    pub value: Decimal,
}

/// A supplier's share of the suggestions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplierOrder {
    pub supplier_id: Option<Uuid>,
    pub supplier: Option<String>,
    pub lead_time_days: i32,
    pub lines: Vec<Suggestion>,
    pub value: Decimal,
}

/// Reorder suggestions per supplier: for every active product that sells, enough whole cases
/// that the stock at every location lasts the supplier's lead time, the days until the next
/// delivery ([`REVIEW_DAYS`]) and [`SAFETY_DAYS`] at the 28-day pace.
pub fn reorder(rows: &[Velocity]) -> Vec<SupplierOrder> {
    let mut orders: Vec<SupplierOrder> = Vec::new();
    for v in rows.iter().filter(|v| v.active) {
        let per_day = v.sold_28 / Decimal::from(28);
        if per_day <= Decimal::ZERO {
            continue;
        }
        let lead = v.lead_time_days.unwrap_or(2).max(0);
        let days = Decimal::from(lead) + Decimal::from(REVIEW_DAYS + SAFETY_DAYS);
        let target = per_day * days;
        let short = target - v.on_hand;
        if short <= Decimal::ZERO {
            continue;
        }
        let case = if v.case_size > Decimal::ZERO {
            v.case_size
        } else {
            Decimal::ONE
        };
        let cases = (short / case).round_dp_with_strategy(0, RoundingStrategy::AwayFromZero);
        let quantity = cases * case;
        let line = Suggestion {
            product_id: v.product_id,
            sku: v.sku.clone(),
            name: v.name.clone(),
            unit: v.unit,
            on_hand: v.on_hand,
            per_day: per_day.round_dp(3),
            target: target.round_dp(3),
            cases,
            quantity,
            value: (quantity * v.cost).round_dp(2),
        };
        match orders.iter_mut().find(|o| o.supplier_id == v.supplier_id) {
            Some(o) => {
                o.value += line.value;
                o.lines.push(line);
            }
            None => orders.push(SupplierOrder {
                supplier_id: v.supplier_id,
                supplier: v.supplier.clone(),
                lead_time_days: lead,
                value: line.value,
                lines: vec![line],
            }),
        }
    }
    orders.sort_by(|a, b| a.supplier.cmp(&b.supplier));
    orders
}

/// A move from a storeroom to a shop that is running low.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replenish {
    pub product_id: Uuid,
    pub name: String,
    pub unit: SaleUnit,
    pub from_location: String,
    pub to_location: String,
    pub quantity: Decimal,
}

/// For each shop with less than a week of a product at its own 28-day pace, what a storeroom
/// or warehouse holding the product could send (up to a week's worth, as much as it has).
pub async fn replenishment(db: &PgPool, today: NaiveDate) -> Result<Vec<Replenish>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with pace as (
               select product_id, location_id, -sum(quantity) / 28.0 as per_day
               from stock_movement
               where kind in ('sold', 'returned') and occurred_on > $1::date - 28
                 and occurred_on <= $1
               group by product_id, location_id)
           select p.product_id, p.name, p.unit as "unit: SaleUnit", shop.name as "to_location!",
                  store.name as "from_location!", coalesce(sl.on_hand, 0) as "in_shop!",
                  pace.per_day as "per_day!", st.on_hand as "in_store!"
           from pace
           join product p using (product_id)
           join location shop on shop.location_id = pace.location_id and shop.kind = 'shop'
           left join stock_level sl on sl.product_id = pace.product_id
                and sl.location_id = pace.location_id
           join stock_level st on st.product_id = pace.product_id and st.on_hand > 0
           join location store on store.location_id = st.location_id and store.kind <> 'shop'
           where p.active and pace.per_day > 0 and coalesce(sl.on_hand, 0) < pace.per_day * 7
           order by p.name, store.name"#,
        today
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let want = r.per_day * Decimal::from(7) - r.in_shop;
            let q = want.min(r.in_store);
            let q = match r.unit {
                SaleUnit::Each => q.round_dp_with_strategy(0, RoundingStrategy::AwayFromZero),
                _ => q.round_dp(3),
            }
            .min(r.in_store);
            (q > Decimal::ZERO).then_some(Replenish {
                product_id: r.product_id,
                name: r.name,
                unit: r.unit,
                from_location: r.from_location,
                to_location: r.to_location,
                quantity: q,
            })
        })
        .collect())
}

/// Shrink of one product for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shrink {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub reason: String,
    pub quantity: Decimal,
    pub value: Decimal,
    /// Lost as a share of what went out (sold and lost), in percent.
    pub rate: Decimal,
}

/// Shrink per product and reason from `from` to `to`, the costliest first.
pub async fn shrink(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Shrink>, sqlx::Error> {
    sqlx::query_as!(
        Shrink,
        r#"with lost as (
               select product_id, reason, -sum(quantity) as quantity,
                      -sum(round(quantity * unit_cost, 2)) as value
               from stock_movement
               where kind = 'shrink' and occurred_on between $1 and $2
               group by product_id, reason),
           sold as (
               select product_id, -sum(quantity) as quantity
               from stock_movement
               where kind = 'sold' and occurred_on between $1 and $2
               group by product_id),
           lost_all as (select product_id, sum(quantity) as quantity from lost group by product_id)
           select p.product_id, p.sku, p.name, l.reason as "reason!", l.quantity as "quantity!",
                  l.value as "value!",
                  round(100 * l.quantity / nullif(coalesce(s.quantity, 0) + a.quantity, 0), 1)
                      as "rate!"
           from lost l
           join product p using (product_id)
           join lost_all a using (product_id)
           left join sold s using (product_id)
           order by l.value desc, p.name"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn v(sold_28: Decimal, on_hand: Decimal, case: Decimal, lead: Option<i32>) -> Velocity {
        Velocity {
            product_id: Uuid::new_v4(),
            sku: "X".into(),
            name: "X".into(),
            unit: SaleUnit::Each,
            supplier_id: None,
            supplier: None,
            lead_time_days: lead,
            case_size: case,
            cost: dec!(10),
            active: true,
            sold_7: sold_28 / dec!(4),
            sold_28,
            sold_90: sold_28 * dec!(3),
            in_shops: on_hand,
            on_hand,
            last_sold: None,
        }
    }

    #[test]
    fn reorders_fill_whole_cases_to_last_the_lead_time_and_the_next_week() {
        // 2 a day, lead time 2 days: 2 × (2 + 7 + 3) = 24 wanted, 5 on hand, 19 short: two
        // cases of 12.
        let rows = [v(dec!(56), dec!(5), dec!(12), Some(2))];
        let o = reorder(&rows);
        assert_eq!(o.len(), 1);
        let line = &o[0].lines[0];
        assert_eq!(
            (line.target, line.cases, line.quantity, line.value),
            (dec!(24), dec!(2), dec!(24), dec!(240))
        );
        // Enough on hand, or not selling: nothing.
        assert!(reorder(&[v(dec!(56), dec!(30), dec!(12), Some(2))]).is_empty());
        assert!(reorder(&[v(dec!(0), dec!(0), dec!(12), Some(2))]).is_empty());
        // A negative on hand (sold before a delivery was booked) orders more.
        let o = reorder(&[v(dec!(28), dec!(-4), dec!(6), Some(0))]);
        assert_eq!(o[0].lines[0].quantity, dec!(18));
    }

    #[test]
    fn pace_and_cover() {
        let x = v(dec!(56), dec!(10), dec!(1), None);
        assert_eq!((x.per_day(28), x.days_of_cover()), (dec!(2), Some(dec!(5))));
        assert_eq!(v(dec!(0), dec!(10), dec!(1), None).days_of_cover(), None);
        let rows = [
            v(dec!(0), dec!(10), dec!(1), None),
            v(dec!(28), dec!(0), dec!(1), None),
        ];
        assert_eq!(slow_movers(&rows).len(), 1);
        assert_eq!(stock_outs(&rows).len(), 1);
    }
}
