//! Reports from the journal: the income statement and the balance sheet for a period, the VAT
//! report per rate, the months' revenue and expenses (for the chart), and members' money in and
//! spent. Each is one query over the journal's lines; amounts are shown the way a reader expects
//! (revenue and liabilities positive), which is the ledger's sign turned for credit accounts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;

use crate::ledger::chart::bas_vat_accounts;
use crate::ledger::AccountKind;

/// One account's line in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub account: i32,
    pub name: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomeStatement {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub revenue: Vec<Row>,
    pub expenses: Vec<Row>,
    pub total_revenue: Decimal,
    pub total_expenses: Decimal,
    /// Revenue less expenses: positive is a surplus.
    pub result: Decimal,
}

struct AccountSum {
    account_number: i32,
    name: String,
    kind: AccountKind,
    sum: Decimal,
}

/// Every account's sum over the period, leaving out 8999 ("Årets resultat"): the year's closing
/// entry moves the result to equity through it, and a closed year's income statement still shows
/// what the year earned.
async fn sums(db: &PgPool, from: NaiveDate, to: NaiveDate) -> Result<Vec<AccountSum>, sqlx::Error> {
    sqlx::query_as!(
        AccountSum,
        r#"select a.account_number, a.name, a.kind as "kind: AccountKind", s.sum as "sum!"
           from (select l.account_number, sum(l.amount) as sum
                 from journal_line l join journal_entry e using (journal_entry_id)
                 where e.entry_date between $1 and $2 and l.account_number <> 8999
                 group by l.account_number) s
           join account a using (account_number)
           order by a.account_number"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// Revenue and expenses between `from` and `to`, both days included.
pub async fn income_statement(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<IncomeStatement, sqlx::Error> {
    let mut revenue = Vec::new();
    let mut expenses = Vec::new();
    for s in sums(db, from, to).await? {
        if s.sum.is_zero() {
            continue;
        }
        match s.kind {
            AccountKind::Revenue => revenue.push(Row {
                account: s.account_number,
                name: s.name,
                amount: -s.sum,
            }),
            AccountKind::Expense => expenses.push(Row {
                account: s.account_number,
                name: s.name,
                amount: s.sum,
            }),
            _ => {}
        }
    }
    let total_revenue = revenue.iter().map(|r| r.amount).sum();
    let total_expenses = expenses.iter().map(|r| r.amount).sum();
    Ok(IncomeStatement {
        from,
        to,
        revenue,
        expenses,
        total_revenue,
        total_expenses,
        result: total_revenue - total_expenses,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceSheet {
    pub at: NaiveDate,
    pub assets: Vec<Row>,
    /// Liabilities and equity, positive.
    pub liabilities: Vec<Row>,
    pub total_assets: Decimal,
    pub total_liabilities: Decimal,
    /// The result not yet moved to equity (every result up to `at`): assets less liabilities.
    pub result: Decimal,
}

/// Every balance-sheet account's balance at the end of `at`.
pub async fn balance_sheet(db: &PgPool, at: NaiveDate) -> Result<BalanceSheet, sqlx::Error> {
    let start = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
    let mut assets = Vec::new();
    let mut liabilities = Vec::new();
    for s in sums(db, start, at).await? {
        if s.sum.is_zero() {
            continue;
        }
        match s.kind {
            AccountKind::Asset => assets.push(Row {
                account: s.account_number,
                name: s.name,
                amount: s.sum,
            }),
            AccountKind::Liability => liabilities.push(Row {
                account: s.account_number,
                name: s.name,
                amount: -s.sum,
            }),
            _ => {}
        }
    }
    let total_assets: Decimal = assets.iter().map(|r| r.amount).sum();
    let total_liabilities: Decimal = liabilities.iter().map(|r| r.amount).sum();
    Ok(BalanceSheet {
        at,
        assets,
        liabilities,
        total_assets,
        total_liabilities,
        result: total_assets - total_liabilities,
    })
}

/// One VAT rate's line of the VAT report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatRate {
    pub percent: Decimal,
    /// Sales at this rate, without VAT.
    pub sales: Decimal,
    pub output_vat: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rates: Vec<VatRate>,
    pub output_vat: Decimal,
    pub input_vat: Decimal,
    /// Output less input: positive is owed to the tax agency.
    pub to_pay: Decimal,
}

/// The BAS input-VAT account.
const INPUT_VAT: i32 = 2641;

/// Output VAT and sales per rate, input VAT, and what is owed, for the period.
pub async fn vat_report(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<VatReport, sqlx::Error> {
    let by_account: BTreeMap<i32, Decimal> = sums(db, from, to)
        .await?
        .into_iter()
        .map(|s| (s.account_number, s.sum))
        .collect();
    let mut rates = Vec::new();
    for percent in [Decimal::from(25), Decimal::from(12), Decimal::from(6)] {
        let (vat, sales) = bas_vat_accounts(percent).expect("the Swedish rates have accounts");
        let output_vat = -by_account.get(&vat.get()).copied().unwrap_or_default();
        let sales = -by_account.get(&sales.get()).copied().unwrap_or_default();
        if !output_vat.is_zero() || !sales.is_zero() {
            rates.push(VatRate {
                percent,
                sales,
                output_vat,
            });
        }
    }
    let output_vat: Decimal = rates.iter().map(|r| r.output_vat).sum();
    let input_vat = by_account.get(&INPUT_VAT).copied().unwrap_or_default();
    Ok(VatReport {
        from,
        to,
        rates,
        output_vat,
        input_vat,
        to_pay: output_vat - input_vat,
    })
}

/// One month's revenue and expenses, for the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    pub month: NaiveDate,
    pub revenue: Decimal,
    pub expenses: Decimal,
}

/// Revenue and expenses per month between `from` and `to`.
pub async fn months(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Month>, sqlx::Error> {
    sqlx::query_as!(
        Month,
        r#"select date_trunc('month', e.entry_date)::date as "month!",
                  coalesce(-sum(l.amount) filter (where a.kind = 'revenue'), 0) as "revenue!",
                  coalesce(sum(l.amount) filter (where a.kind = 'expense'), 0) as "expenses!"
           from journal_line l
           join journal_entry e using (journal_entry_id)
           join account a using (account_number)
           where e.entry_date between $1 and $2 and a.kind in ('revenue', 'expense')
             and l.account_number <> 8999
           group by 1 order by 1"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// A wallet's money in and spent in a period (the buyers-club spec's per-member batch asks for
/// both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberMoney {
    pub wallet_id: uuid::Uuid,
    pub owner_name: String,
    pub payment_reference: Option<String>,
    pub paid_in: Decimal,
    pub spent: Decimal,
    pub balance: Decimal,
}

pub async fn member_money(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MemberMoney>, sqlx::Error> {
    sqlx::query_as!(
        MemberMoney,
        r#"select w.wallet_id, w.owner_name, w.payment_reference,
                  coalesce(sum(m.amount) filter (where m.kind = 'top_up'), 0) as "paid_in!",
                  coalesce(-sum(m.amount) filter (where m.kind = 'capture'), 0) as "spent!",
                  w.balance
           from wallet w
           left join wallet_movement m on m.wallet_id = w.wallet_id
                and m.occurred_at::date between $1 and $2
           group by w.wallet_id order by w.owner_name, w.payment_reference"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// A CSV of the income statement (`;`-separated, `.` decimals, as spreadsheets in Sweden and
/// elsewhere read it).
pub fn income_statement_csv(s: &IncomeStatement) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("section;account;name;amount\n");
    let field = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    for (section, rows) in [("revenue", &s.revenue), ("expenses", &s.expenses)] {
        for r in rows {
            let _ = writeln!(
                out,
                "{section};{};{};{:.2}",
                r.account,
                field(&r.name),
                r.amount
            );
        }
    }
    let _ = writeln!(out, "result;;;{:.2}", s.result);
    out
}

/// One member's line of the monthly batch: money sent in, and purchases per VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRow {
    pub owner_name: String,
    pub payment_reference: Option<String>,
    pub paid_in: Decimal,
    pub vat_percent: Option<Decimal>,
    pub net: Decimal,
    pub vat: Decimal,
}

/// The buyers-club spec's batch for a period: per member, the money they sent (the base of
/// their credit) and their purchases summed per VAT rate. A member with top-ups and no purchase
/// has one row without a rate.
pub async fn member_batch(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    sqlx::query_as!(
        BatchRow,
        r#"with paid as (
               select w.owner_id, sum(m.amount) as paid_in
               from wallet w join wallet_movement m using (wallet_id)
               join journal_entry e on e.journal_entry_id = m.journal_entry_id
               where m.kind = 'top_up' and e.entry_date between $1 and $2
               group by w.owner_id),
           bought as (
               select owner_id, vat_percent, sum(net) as net, sum(vat) as vat
               from member_purchase where bought_on between $1 and $2
               group by owner_id, vat_percent),
           owners as (select owner_id from paid union select owner_id from bought)
           select coalesce(w.owner_name, '') as "owner_name!", w.payment_reference,
                  coalesce(p.paid_in, 0) as "paid_in!", b.vat_percent as "vat_percent?",
                  coalesce(b.net, 0) as "net!", coalesce(b.vat, 0) as "vat!"
           from owners o
           left join wallet w on w.owner_id = o.owner_id
           left join paid p on p.owner_id = o.owner_id
           left join bought b on b.owner_id = o.owner_id
           order by 1, 2, b.vat_percent"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// The batch as CSV (`;`, `.` decimals): one row per member and rate; the money sent in is on
/// each of the member's rows, so a spreadsheet can total either.
pub fn member_batch_csv(rows: &[BatchRow]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("member;payment_reference;paid_in;vat_percent;net;vat;gross\n");
    let field = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    for r in rows {
        let _ = writeln!(
            out,
            "{};{};{:.2};{};{:.2};{:.2};{:.2}",
            field(&r.owner_name),
            r.payment_reference.as_deref().unwrap_or(""),
            r.paid_in,
            r.vat_percent
                .map(|p| p.normalize().to_string())
                .unwrap_or_default(),
            r.net,
            r.vat,
            r.net + r.vat
        );
    }
    out
}
