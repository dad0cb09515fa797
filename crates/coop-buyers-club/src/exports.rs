//! An order exported: as a PDF for the supplier (a line per product: article number, cases,
//! units, price, value; the total), as CSV and JSON (the sorting view: per product, each
//! member's wanted quantity, tolerance and share), and as ValueFlows JSON-LD, so that a
//! bioregional network of producers can read the offer and the commitments (docs/buyers-club.md,
//! "ValueFlows").

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use coop_web::format::Format;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::line_amount;
use crate::members::Member;
use crate::store::{Order, SortLine, Supplier};

/// Everything an export needs of an order.
#[derive(Debug)]
pub struct Export<'a> {
    pub order: &'a Order,
    pub supplier: &'a Supplier,
    pub lines: &'a [SortLine],
    /// The products' article numbers at the supplier, by product.
    pub articles: &'a [(Uuid, String)],
    pub members: &'a [Member],
    pub currency: &'a str,
    pub minor: u32,
}

impl Export<'_> {
    fn article(&self, product: Uuid) -> &str {
        self.articles
            .iter()
            .find(|a| a.0 == product)
            .map_or("", |a| a.1.as_str())
    }

    fn member(&self, id: Uuid) -> (String, String) {
        self.members.iter().find(|m| m.member_id == id).map_or_else(
            || (String::new(), id.to_string()),
            |m| (m.member_number.clone(), m.name.clone()),
        )
    }

    /// What the supplier is sent: the units of each product (whole cases) at the order's price.
    fn value(&self, l: &SortLine) -> Decimal {
        line_amount(l.units, l.unit_price, self.minor)
    }

    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| self.value(l)).sum()
    }
}

/// A CSV cell: quoted, and guarded against spreadsheet formulas (a leading `=`, `+`, `-`, `@`).
fn cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// The sorting view as CSV: a row per member and product (and one per product nobody bought).
#[must_use]
pub fn csv(e: &Export<'_>) -> String {
    let mut out = String::from(
        "product,article,unit,case_size,cases,units,unit_price,member_number,member,wanted,tolerance,gets\r\n",
    );
    for l in e.lines {
        let head = [
            cell(&l.name),
            cell(e.article(l.product_id)),
            cell(&l.unit),
            l.case_size.normalize().to_string(),
            l.cases.normalize().to_string(),
            l.units.normalize().to_string(),
            l.unit_price.to_string(),
        ]
        .join(",");
        if l.members.is_empty() {
            let _ = write!(out, "{head},,,,,\r\n");
        }
        for (m, wanted, tolerance, gets) in &l.members {
            let (number, name) = e.member(*m);
            let _ = write!(
                out,
                "{head},{},{},{},{},{}\r\n",
                cell(&number),
                cell(&name),
                wanted.normalize(),
                tolerance.normalize(),
                gets.normalize()
            );
        }
    }
    out
}

/// The order as JSON: its details, the supplier, and per product the cases and the members'
/// shares.
#[must_use]
pub fn json(e: &Export<'_>) -> Value {
    json!({
        "order_id": e.order.order_id,
        "title": e.order.title,
        "state": e.order.state,
        "ends_at": e.order.ends_at,
        "threshold": e.order.threshold,
        "currency": e.currency,
        "supplier": { "supplier_id": e.supplier.supplier_id, "name": e.supplier.name,
                      "contact": e.supplier.contact, "address": e.supplier.address },
        "total": e.total(),
        "products": e.lines.iter().map(|l| json!({
            "product_id": l.product_id, "name": l.name, "article": e.article(l.product_id),
            "unit": l.unit, "case_size": l.case_size.normalize(), "unit_price": l.unit_price,
            "cases": l.cases.normalize(), "units": l.units.normalize(), "value": e.value(l),
            "members": l.members.iter().map(|(m, w, t, g)| {
                let (number, name) = e.member(*m);
                json!({ "member_number": number, "name": name, "wanted": w.normalize(),
                        "tolerance": t.normalize(), "gets": g.normalize() })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The order in ValueFlows (JSON-LD, `https://w3id.org/valueflows/`): the supplier's offer is a
/// `vf:Proposal` whose intents are the products (the supplier providing each at its price, per
/// case) with reciprocal intents in money; each member's share is a pair of `vf:Commitment`s,
/// the goods from the supplier to the member and the money from the member to the supplier.
/// Agents are named by URNs of their ids here (`urn:uuid:`), the co-op's base URL prefixing
/// what it publishes.
#[must_use]
pub fn valueflows(e: &Export<'_>, base: &str, at: DateTime<Utc>) -> Value {
    let base = base.trim_end_matches('/');
    let order_uri = format!("{base}/orders/{}", e.order.order_id);
    let supplier = format!("urn:uuid:{}", e.supplier.supplier_id);
    let money = |amount: Decimal| json!({ "om2:hasNumericalValue": amount.to_string(), "om2:hasUnit": e.currency });
    let mut graph: Vec<Value> = vec![json!({
        "@id": supplier, "@type": "vf:Organization", "vf:name": e.supplier.name,
        "vf:primaryLocation": if e.supplier.address.is_empty() { Value::Null } else { json!({
            "@type": "vf:SpatialThing", "vf:name": e.supplier.address,
            "geo:lat": e.supplier.latitude.map(|d| d.to_string()),
            "geo:long": e.supplier.longitude.map(|d| d.to_string()),
        }) },
    })];
    let mut intents = Vec::new();
    for l in e.lines {
        let spec = format!("urn:uuid:{}", l.product_id);
        graph.push(json!({
            "@id": spec, "@type": "vf:ResourceSpecification", "vf:name": l.name,
            "vf:defaultUnitOfResource": l.unit,
        }));
        let offer = format!("{order_uri}#offer-{}", l.product_id);
        intents.push(json!({
            "@id": offer, "@type": "vf:Intent", "vf:action": "transfer",
            "vf:provider": supplier, "vf:resourceConformsTo": spec,
            "vf:availableQuantity": { "om2:hasNumericalValue": l.case_size.normalize().to_string(), "om2:hasUnit": l.unit },
        }));
        intents.push(json!({
            "@id": format!("{offer}-price"), "@type": "vf:Intent", "vf:action": "transfer",
            "vf:receiver": supplier, "vf:resourceQuantity": money(l.unit_price),
            "vf:resourceClassifiedAs": "money", "vf:reciprocal": true,
        }));
        for (m, _, _, gets) in &l.members {
            if gets.is_zero() {
                continue;
            }
            let member = format!("urn:uuid:{m}");
            let id = format!("{order_uri}#commitment-{}-{m}", l.product_id);
            graph.push(json!({
                "@id": id, "@type": "vf:Commitment", "vf:action": "transfer",
                "vf:provider": supplier, "vf:receiver": member, "vf:resourceConformsTo": spec,
                "vf:resourceQuantity": { "om2:hasNumericalValue": gets.normalize().to_string(), "om2:hasUnit": l.unit },
                "vf:satisfies": offer, "vf:clauseOf": format!("{order_uri}#agreement"),
            }));
            graph.push(json!({
                "@id": format!("{id}-payment"), "@type": "vf:Commitment", "vf:action": "transfer",
                "vf:provider": member, "vf:receiver": supplier,
                "vf:resourceQuantity": money(line_amount(*gets, l.unit_price, e.minor)),
                "vf:resourceClassifiedAs": "money", "vf:reciprocalClauseOf": format!("{order_uri}#agreement"),
            }));
        }
    }
    graph.push(json!({
        "@id": format!("{order_uri}#proposal"), "@type": "vf:Proposal", "vf:name": e.order.title,
        "vf:hasEnd": e.order.ends_at, "vf:publishes": intents, "vf:unitBased": true,
    }));
    graph.push(json!({
        "@id": format!("{order_uri}#agreement"), "@type": "vf:Agreement", "vf:name": e.order.title,
        "vf:created": at,
    }));
    json!({
        "@context": {
            "vf": "https://w3id.org/valueflows/ont/vf#",
            "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
            "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
        },
        "@graph": graph,
    })
}

/// Labels for the PDF, in the reader's language.
pub struct PdfLabels<'a> {
    pub t: &'a dyn Fn(&str) -> String,
    pub format: Format,
    pub org_name: &'a str,
    pub currency: coop_domain::Currency,
}

impl std::fmt::Debug for PdfLabels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfLabels").finish_non_exhaustive()
    }
}

/// The order as the supplier gets it: a line per product with its article number, cases,
/// units, price and value, and the total.
#[must_use]
pub fn pdf(e: &Export<'_>, l: &PdfLabels<'_>) -> Vec<u8> {
    use coop_web::pdf::{finish, Align, Column, Layout, Meta};
    let t = l.t;
    let money = |d: Decimal| l.format.money(coop_domain::Money::new(d, l.currency));
    let qty = |d: Decimal| {
        let d = d.normalize();
        l.format.number(d, d.scale())
    };
    let mut doc = Layout::new();
    doc.heading(l.org_name, 16.0);
    doc.heading(&e.order.title, 13.0);
    doc.para(&format!("{}: {}", t("club-col-supplier"), e.supplier.name));
    if !e.supplier.address.is_empty() {
        doc.para(&e.supplier.address);
    }
    doc.para(&format!(
        "{}: {}",
        t("club-col-ends"),
        l.format.datetime(e.order.ends_at)
    ));
    doc.y -= 8.0;
    let col = |x: f32, w: f32, align| Column { x, w, align };
    let cols = [
        col(0.0, 60.0, Align::Left),
        col(60.0, 180.0, Align::Left),
        col(240.0, 50.0, Align::Right),
        col(290.0, 60.0, Align::Right),
        col(350.0, 60.0, Align::Right),
        col(410.0, 73.0, Align::Right),
    ];
    let rows: Vec<Vec<String>> = e
        .lines
        .iter()
        .map(|x| {
            vec![
                e.article(x.product_id).to_owned(),
                x.name.clone(),
                qty(x.cases),
                format!("{} {}", qty(x.units), x.unit),
                money(x.unit_price),
                money(e.value(x)),
            ]
        })
        .collect();
    doc.table(
        &cols,
        &[
            t("club-pdf-article"),
            t("club-col-product"),
            t("club-col-cases"),
            t("club-pdf-units"),
            t("club-col-price"),
            t("club-col-amount"),
        ],
        &rows,
    );
    doc.row(
        &cols,
        &[
            t("club-total"),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            money(e.total()),
        ],
        true,
    );
    let page_word = t("club-pdf-page");
    let title = e.order.title.clone();
    let foot = |n: usize, count: usize| format!("{title} · {page_word} {n} / {count}");
    finish(
        doc,
        &Meta {
            title: &title,
            author: l.org_name,
            lang: l.format.lang.code(),
            producer: "Cooperage coop-buyers-club",
            foot: &foot,
        },
    )
}
