//! Sales as tills upload them. A till sends its journal's records in order; each is checked on
//! its own (its sums agree, it is the uploading till's) and against the till's chain (the next
//! number, carrying the last accepted record's hash, matching its own hash), then stored with its
//! lines and tenders and published as `sale.completed` in one transaction. The same sale again
//! is a duplicate and changes nothing; a record that fails is flagged on the till, and nothing
//! after it is taken until the till sends what should come next, so the chain never has a hole.

use chrono::Utc;
use coop_pos_till::journal::{Chain, SaleKind, SaleRecord};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::feed::Kind;

/// The most records one upload may carry.
pub const MAX_BATCH: usize = 500;
/// The most lines one sale may have.
pub const MAX_LINES: usize = 1000;

/// What became of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Stored now.
    pub accepted: usize,
    /// Received before, identical: nothing changed.
    pub duplicates: usize,
    /// The till's chain at central after the upload.
    pub last_seq: i64,
    /// The first record refused, and why; records after it were not looked at.
    pub refused: Option<Refused>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub sale_id: Uuid,
    pub seq: i64,
    pub problem: String,
}

/// What a till reports about its own outbox with each upload: how many records wait (those in
/// this upload included) and since when. Central keeps what is left after the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
pub struct Pending {
    pub count: i32,
    pub since: Option<chrono::DateTime<Utc>>,
}

fn dp2(d: Decimal) -> bool {
    d.normalize().scale() <= 2
}

/// A record's own consistency, before its place in the chain is looked at: it is this till's,
/// in the co-op's currency, its lines, VAT rates and tenders add up, and its signs fit its kind.
pub fn check_record(r: &SaleRecord, till: &str, currency: &str) -> Result<(), String> {
    if r.till != till {
        return Err(format!(
            "the record is till {:?}'s, not this till's",
            r.till
        ));
    }
    if r.currency != currency {
        return Err(format!(
            "the record is in {}, the co-op keeps {currency}",
            r.currency
        ));
    }
    if r.lines.is_empty() || r.lines.len() > MAX_LINES {
        return Err(format!("a sale has 1 to {MAX_LINES} lines"));
    }
    let lines: Decimal = r.lines.iter().map(|l| l.amount).sum();
    let gross: Decimal = r.by_rate.iter().map(|x| x.gross).sum();
    let net: Decimal = r.by_rate.iter().map(|x| x.net).sum();
    let tenders: Decimal = r.tenders.iter().map(|t| t.amount).sum();
    let amounts = r
        .lines
        .iter()
        .map(|l| l.amount)
        .chain(r.by_rate.iter().flat_map(|x| [x.net, x.vat, x.gross]))
        .chain(r.tenders.iter().map(|t| t.amount))
        .chain([r.total, r.rounding, r.change]);
    if !amounts.into_iter().all(dp2) {
        return Err("an amount has more than two decimals".into());
    }
    if r.by_rate.iter().any(|x| x.net + x.vat != x.gross) {
        return Err("a VAT rate's net and VAT do not make its gross".into());
    }
    if lines != gross && lines != net {
        return Err(format!(
            "the lines add up to {lines}, the VAT rates to {gross} (net {net})"
        ));
    }
    if gross != r.total {
        return Err(format!(
            "the VAT rates add up to {gross}, the total is {}",
            r.total
        ));
    }
    if tenders != r.total + r.rounding {
        return Err(format!(
            "the tenders add up to {tenders}, the total and rounding to {}",
            r.total + r.rounding
        ));
    }
    if r.change.is_sign_negative() {
        return Err("change cannot be negative".into());
    }
    let sign_ok = match r.kind {
        SaleKind::Sale | SaleKind::Training => !r.total.is_sign_negative() || r.total.is_zero(),
        SaleKind::Return => r.total <= Decimal::ZERO,
    };
    if !sign_ok {
        return Err(format!("a {:?} cannot total {}", r.kind, r.total).to_lowercase());
    }
    if r.original_sale.is_some() && r.kind != SaleKind::Return {
        return Err("only a return names an original sale".into());
    }
    if r.tenders
        .iter()
        .any(|t| !matches!(t.kind.as_str(), "cash" | "card" | "wallet" | "restricted"))
    {
        return Err("a tender's kind is cash, card, wallet or restricted".into());
    }
    // The member is coop-sso's id: coop-finance and coop-ims read it as one, and a sale they
    // cannot read would stop their feed (found by the fuzz target sale_upload).
    if r.member
        .as_deref()
        .is_some_and(|m| uuid::Uuid::parse_str(m).is_err())
    {
        return Err("the member is not a member's id".into());
    }
    let wallet = r.tenders.iter().any(|t| t.kind == "wallet");
    if wallet
        && r.member
            .as_deref()
            .and_then(|m| uuid::Uuid::parse_str(m).ok())
            .is_none()
    {
        return Err("a sale paid from a wallet names its member".into());
    }
    Ok(())
}

/// Every VAT rate of the record is one of the co-op's VAT classes' rates on the sale's business
/// day: coop-finance books each rate to its own accounts, and a rate it has none for would stop
/// its feed (found by the fuzz target sale_upload).
///
/// # Errors
/// The rate the co-op does not have, as the till's refusal says it.
pub fn check_rates(r: &SaleRecord, vat: &coop_domain::vat::VatTable) -> Result<(), String> {
    let known: Vec<Decimal> = vat
        .classes()
        .filter_map(|(_, s)| s.rate_on(r.business_day))
        .map(|rate| rate.percent().normalize())
        .collect();
    let rates = r
        .by_rate
        .iter()
        .map(|x| x.vat_percent)
        .chain(r.lines.iter().map(|l| l.vat_percent));
    for rate in rates {
        if !known.contains(&rate.normalize()) {
            return Err(format!(
                "{} % is not one of the co-op's VAT rates on {}",
                rate.normalize(),
                r.business_day
            ));
        }
    }
    Ok(())
}

/// The `sale.completed` payload (see docs/architecture.md): what coop-finance books and
/// coop-ims takes off the stock.
pub fn event_payload(r: &SaleRecord, location: Option<&str>) -> serde_json::Value {
    let mut p = json!({
        "sale_id": r.sale_id,
        "till": r.till,
        "receipt_number": r.seq,
        "business_day": r.business_day,
        "lines_by_rate": r.by_rate.iter().map(|x| json!({
            "vat_percent": x.vat_percent, "net": x.net, "vat": x.vat,
        })).collect::<Vec<_>>(),
        "tenders": r.tenders.iter().map(|t| json!({ "kind": t.kind, "amount": t.amount })).collect::<Vec<_>>(),
        "rounding": r.rounding,
        // An open-price item (the nil product) is no stock of coop-ims's.
        "items": r.lines.iter().filter(|l| !l.product_id.is_nil()).map(|l| {
            let mut i = json!({ "product_id": l.product_id, "quantity": l.quantity });
            if let Some(pack) = l.pack_id {
                i["pack_id"] = json!(pack);
            }
            i
        }).collect::<Vec<_>>(),
    });
    if let Some(m) = &r.member {
        p["member"] = json!(m);
    }
    if let Some(l) = location {
        p["location"] = json!(l);
    }
    p
}

/// Takes an upload from `till` (its id at coop-sso), in order, in one transaction: the records
/// up to the first refused one are stored and the till's chain moved past them together (one
/// commit, one flush to disk, for the batch), then the refusal is flagged. A failure of the
/// database stores nothing of the batch; the till sends it again and what arrived is known by
/// its sale ids.
pub async fn ingest(
    db: &PgPool,
    till: &str,
    records: &[SaleRecord],
    pending: Pending,
    currency: &str,
    vat: Option<&coop_domain::vat::VatTable>,
    location: Option<&str>,
) -> Result<Outcome, sqlx::Error> {
    sqlx::query!(
        "insert into till (till_id) values ($1)
         on conflict (till_id) do update set last_seen_at = now()",
        till
    )
    .execute(db)
    .await?;
    let mut out = Outcome {
        accepted: 0,
        duplicates: 0,
        last_seq: 0,
        refused: None,
    };
    let mut tx = db.begin().await?;
    // Two uploads from one till (a retry while the first is still stored) take turns here.
    let state = sqlx::query!(
        "select last_seq, last_hash from till where till_id = $1 for update",
        till
    )
    .fetch_one(&mut *tx)
    .await?;
    out.last_seq = state.last_seq;
    let mut chain = Chain {
        last_seq: state.last_seq,
        last_hash: state.last_hash,
    };
    let mut refusal: Option<(&SaleRecord, String)> = None;
    for r in records {
        if let Some(problem) = refused(
            &mut tx, till, r, currency, vat, location, &mut chain, &mut out,
        )
        .await?
        {
            refusal = Some((r, problem));
            break;
        }
    }
    if out.accepted > 0 {
        sqlx::query!(
            "update till set last_seq = $2, last_hash = $3, last_seen_at = now() where till_id = $1",
            till,
            chain.last_seq,
            chain.last_hash
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if let Some((r, problem)) = refusal {
        return refuse(db, till, r, problem, out).await;
    }
    // The till counted its outbox before this upload; what is left is that less what central
    // now holds of it.
    let taken = i32::try_from(out.accepted + out.duplicates).unwrap_or(i32::MAX);
    let left = pending.count.saturating_sub(taken).max(0);
    let since = if left > 0 { pending.since } else { None };
    let last = sqlx::query_scalar!(
        "update till set pending = $2, pending_since = $3, last_seen_at = now()
         where till_id = $1 returning last_seq",
        till,
        left,
        since
    )
    .fetch_one(db)
    .await?;
    out.last_seq = last;
    Ok(out)
}

/// One record of an upload, inside the upload's transaction: counted as a duplicate, or checked,
/// chained and stored (`Ok(None)`); or the reason it is refused (`Ok(Some(..))`), storing nothing.
#[allow(clippy::too_many_arguments)]
async fn refused(
    tx: &mut sqlx::PgConnection,
    till: &str,
    r: &SaleRecord,
    currency: &str,
    vat: Option<&coop_domain::vat::VatTable>,
    location: Option<&str>,
    chain: &mut Chain,
    out: &mut Outcome,
) -> Result<Option<String>, sqlx::Error> {
    let before = sqlx::query!(
        "select hash, till_id from sale where sale_id = $1",
        r.sale_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    // The hash over the record's canonical JSON, once (the chain checks it again).
    let sealed = r.compute_hash() == r.hash;
    if let Some(b) = before {
        if b.hash == r.hash && b.till_id == till && sealed {
            out.duplicates += 1;
            return Ok(None);
        }
        return Ok(Some(
            "this sale was received before with other contents".to_owned(),
        ));
    }
    // A record that no longer matches its own hash was changed after the till sealed it: say
    // so before anything else about it.
    if !sealed {
        return Ok(Some(
            coop_pos_till::journal::ChainError::Tampered { seq: r.seq }.to_string(),
        ));
    }
    if let Err(problem) =
        check_record(r, till, currency).and_then(|()| vat.map_or(Ok(()), |v| check_rates(r, v)))
    {
        return Ok(Some(problem));
    }
    if let Some(problem) = hold_mismatch(&mut *tx, till, r).await? {
        return Ok(Some(problem));
    }
    if let Some(problem) = return_beyond_original(&mut *tx, r).await? {
        return Ok(Some(problem));
    }
    if let Err(e) = chain.accept(r) {
        return Ok(Some(e.to_string()));
    }
    store(&mut *tx, r, location).await?;
    out.accepted += 1;
    out.last_seq = chain.last_seq;
    Ok(None)
}

/// A sale whose wallet part says it was held online must match the hold this till placed
/// through central: the same member and amount. (coop-finance charges the hold's wallet, so a
/// sale naming another member would charge one and credit the other's history.)
async fn hold_mismatch(
    tx: &mut sqlx::PgConnection,
    till: &str,
    r: &SaleRecord,
) -> Result<Option<String>, sqlx::Error> {
    let held: Vec<&coop_pos_till::journal::RecordTender> = r
        .tenders
        .iter()
        .filter(|t| t.kind == "wallet" && t.reference.is_some())
        .collect();
    if held.is_empty() {
        return Ok(None);
    }
    let amount: Decimal = held.iter().map(|t| t.amount).sum();
    let member = r
        .member
        .as_deref()
        .and_then(|m| uuid::Uuid::parse_str(m).ok());
    let hold = sqlx::query!(
        "select till_id, member_id, amount from wallet_hold where sale_id = $1",
        r.sale_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(match hold {
        Some(h) if h.till_id == till && Some(h.member_id) == member && h.amount == amount => None,
        Some(_) => Some("the sale does not match the wallet hold placed for it".into()),
        None => Some("the sale names a wallet hold that central never placed".into()),
    })
}

/// A return that would pay back more than its original sale cost, with the returns before it.
/// (The till checks this too; central holds every till's returns, and the original's own
/// record.) The original's row is locked, so two returns of it take turns.
async fn return_beyond_original(
    tx: &mut sqlx::PgConnection,
    r: &SaleRecord,
) -> Result<Option<String>, sqlx::Error> {
    let (SaleKind::Return, Some(original)) = (r.kind, r.original_sale) else {
        return Ok(None);
    };
    let Some(o) = sqlx::query!(
        "select total, kind from sale where sale_id = $1 for update",
        original
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Some(format!(
            "the returned sale {original} is not at central"
        )));
    };
    if o.kind != "sale" {
        return Ok(Some("only a sale can be returned".into()));
    }
    let before = sqlx::query_scalar!(
        r#"select coalesce(sum(total), 0) as "t!" from sale where original_sale = $1"#,
        original
    )
    .fetch_one(&mut *tx)
    .await?;
    let back = -(before + r.total);
    Ok((back > o.total).then(|| {
        format!(
            "the returns of {original} would pay back {back}, more than its {}",
            o.total
        )
    }))
}

async fn store(
    tx: &mut sqlx::PgConnection,
    r: &SaleRecord,
    location: Option<&str>,
) -> Result<(), sqlx::Error> {
    let kind = match r.kind {
        SaleKind::Sale => "sale",
        SaleKind::Return => "return",
        SaleKind::Training => "training",
    };
    let record = serde_json::to_value(r).expect("a record serialises");
    sqlx::query!(
        "insert into sale (sale_id, till_id, seq, kind, business_day, completed_at, cashier,
                           member, original_sale, currency, total, rounding, change, prev_hash,
                           hash, record)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        r.sale_id,
        r.till,
        r.seq,
        kind,
        r.business_day,
        r.completed_at,
        r.cashier,
        r.member,
        r.original_sale,
        r.currency,
        r.total,
        r.rounding,
        r.change,
        r.prev_hash,
        r.hash,
        record
    )
    .execute(&mut *tx)
    .await?;
    // Lines and tenders in one statement each: an upload is mostly these rows.
    let n = r.lines.len();
    let mut line_no = Vec::with_capacity(n);
    let (mut product, mut pack, mut sku, mut name, mut unit) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut quantity, mut unit_price, mut vat_percent, mut amount) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (i, l) in r.lines.iter().enumerate() {
        line_no.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
        product.push(l.product_id);
        pack.push(l.pack_id);
        sku.push(l.sku.clone());
        name.push(l.name.clone());
        unit.push(l.unit.as_str().to_owned());
        quantity.push(l.quantity);
        unit_price.push(l.unit_price);
        vat_percent.push(l.vat_percent);
        amount.push(l.amount);
    }
    sqlx::query!(
        r#"insert into sale_line (sale_id, line_no, product_id, pack_id, sku, name, unit,
                                  quantity, unit_price, vat_percent, amount)
           select $1, * from unnest($2::int[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                                    $7::text[], $8::numeric[], $9::numeric[], $10::numeric[],
                                    $11::numeric[])"#,
        r.sale_id,
        &line_no,
        &product,
        &pack as &[Option<Uuid>],
        &sku,
        &name,
        &unit,
        &quantity,
        &unit_price,
        &vat_percent,
        &amount
    )
    .execute(&mut *tx)
    .await?;
    let tender_no: Vec<i32> = (1..=r.tenders.len())
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let tender: Vec<String> = r.tenders.iter().map(|t| t.tender.clone()).collect();
    let class: Vec<String> = r.tenders.iter().map(|t| t.kind.clone()).collect();
    let paid: Vec<rust_decimal::Decimal> = r.tenders.iter().map(|t| t.amount).collect();
    let reference: Vec<Option<String>> = r.tenders.iter().map(|t| t.reference.clone()).collect();
    sqlx::query!(
        r#"insert into sale_tender (sale_id, tender_no, tender, class, amount, reference)
           select $1, * from unnest($2::int[], $3::text[], $4::text[], $5::numeric[], $6::text[])"#,
        r.sale_id,
        &tender_no,
        &tender,
        &class,
        &paid,
        &reference as &[Option<String>]
    )
    .execute(&mut *tx)
    .await?;
    // A training sale is kept and shown as such, never booked nor taken off the stock.
    if r.kind != SaleKind::Training {
        coop_web::feed::publish(
            &mut *tx,
            Kind::SaleCompleted,
            None,
            &event_payload(r, location),
        )
        .await?;
    }
    Ok(())
}

/// Flags the till's first problem (a later one does not overwrite it) and answers the upload.
async fn refuse(
    db: &PgPool,
    till: &str,
    r: &SaleRecord,
    problem: String,
    mut out: Outcome,
) -> Result<Outcome, sqlx::Error> {
    let problem: String = problem.chars().take(500).collect();
    tracing::warn!(till, seq = r.seq, sale_id = %r.sale_id, problem = %problem, "a till's upload was refused");
    let last = sqlx::query_scalar!(
        "update till set flagged_seq = coalesce(flagged_seq, $2),
                         flagged_problem = coalesce(flagged_problem, $3),
                         flagged_at = coalesce(flagged_at, now()),
                         last_seen_at = now()
         where till_id = $1 returning last_seq",
        till,
        r.seq,
        problem
    )
    .fetch_one(db)
    .await?;
    out.last_seq = last;
    out.refused = Some(Refused {
        sale_id: r.sale_id,
        seq: r.seq,
        problem,
    });
    Ok(out)
}
