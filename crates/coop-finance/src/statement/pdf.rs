//! A statement as a PDF, laid out with the kit's [`coop_web::pdf`].

use coop_domain::{Currency, Money};
use coop_web::format::Format;
use coop_web::pdf::{finish, Align, Column, Layout, Meta};
use rust_decimal::Decimal;

use super::Statement;

/// The words a statement needs, in the reader's language.
pub struct Labels<'a> {
    pub t: &'a dyn Fn(&str) -> String,
    pub format: Format,
    pub currency: Currency,
    pub org_name: &'a str,
    pub org_number: Option<&'a str>,
}

impl std::fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labels")
            .field("format", &self.format)
            .field("currency", &self.currency)
            .field("org_name", &self.org_name)
            .finish_non_exhaustive()
    }
}

impl Labels<'_> {
    fn money(&self, d: Decimal) -> String {
        self.format.money(Money::new(d, self.currency))
    }

    fn date(&self, d: chrono::NaiveDate) -> String {
        self.format.naive_date(d)
    }

    fn percent(&self, p: Decimal) -> String {
        format!(
            "{} %",
            self.format.number(p.normalize(), p.normalize().scale())
        )
    }
}

/// The statement as a PDF file.
pub fn render(s: &Statement, l: &Labels<'_>) -> Vec<u8> {
    let t = l.t;
    let mut doc = Layout::new();
    let title = t("finance-statement-title");
    doc.heading(l.org_name, 16.0);
    if let Some(n) = l.org_number {
        doc.para(&format!("{} {n}", t("finance-statement-org-number")));
    }
    doc.heading(&title, 13.0);
    doc.para(&format!(
        "{}: {}",
        t("finance-statement-member"),
        s.owner_name
    ));
    if let Some(r) = &s.payment_reference {
        doc.para(&format!("{}: {r}", t("finance-statement-reference")));
    }
    doc.para(&format!(
        "{}: {} – {}",
        t("finance-statement-period"),
        l.date(s.from),
        l.date(s.to)
    ));
    doc.y -= 8.0;

    let two = [
        Column {
            x: 0.0,
            w: 300.0,
            align: Align::Left,
        },
        Column {
            x: 300.0,
            w: 183.0,
            align: Align::Right,
        },
    ];
    doc.heading(&t("finance-statement-wallet"), 11.0);
    let summary = vec![
        vec![t("finance-statement-opening"), l.money(s.opening)],
        vec![t("finance-paid-in"), l.money(s.paid_in)],
        vec![t("finance-spent"), l.money(-s.spent)],
        vec![t("finance-statement-adjusted"), l.money(s.adjusted)],
    ];
    doc.table(&two, &[String::new(), t("finance-amount")], &summary);
    doc.row(
        &two,
        &[t("finance-statement-closing"), l.money(s.closing)],
        true,
    );
    doc.y -= 8.0;

    let three = [
        Column {
            x: 0.0,
            w: 110.0,
            align: Align::Left,
        },
        Column {
            x: 110.0,
            w: 190.0,
            align: Align::Left,
        },
        Column {
            x: 300.0,
            w: 183.0,
            align: Align::Right,
        },
    ];
    doc.heading(&t("finance-statement-movements"), 11.0);
    if s.movements.is_empty() {
        doc.para(&t("finance-statement-no-movements"));
    } else {
        let rows: Vec<Vec<String>> = s
            .movements
            .iter()
            .map(|m| {
                vec![
                    l.date(m.on),
                    t(&format!("finance-movement-{}", m.kind)),
                    l.money(m.amount),
                ]
            })
            .collect();
        doc.table(
            &three,
            &[
                t("finance-date"),
                t("finance-statement-what"),
                t("finance-amount"),
            ],
            &rows,
        );
    }
    doc.y -= 8.0;

    let five = [
        Column {
            x: 0.0,
            w: 90.0,
            align: Align::Left,
        },
        Column {
            x: 90.0,
            w: 130.0,
            align: Align::Left,
        },
        Column {
            x: 220.0,
            w: 60.0,
            align: Align::Right,
        },
        Column {
            x: 280.0,
            w: 100.0,
            align: Align::Right,
        },
        Column {
            x: 380.0,
            w: 103.0,
            align: Align::Right,
        },
    ];
    doc.heading(&t("finance-statement-purchases"), 11.0);
    if s.purchases.is_empty() {
        doc.para(&t("finance-statement-no-purchases"));
    } else {
        let rows: Vec<Vec<String>> = s
            .purchases
            .iter()
            .map(|p| {
                vec![
                    l.date(p.on),
                    format!(
                        "{} {}",
                        t(&format!("finance-statement-origin-{}", p.origin())),
                        p.short_ref()
                    ),
                    l.percent(p.vat_percent),
                    l.money(p.net),
                    l.money(p.vat),
                ]
            })
            .collect();
        doc.table(
            &five,
            &[
                t("finance-date"),
                t("finance-statement-where"),
                t("finance-statement-rate"),
                t("finance-statement-net"),
                t("finance-statement-vat-amount"),
            ],
            &rows,
        );
    }
    doc.y -= 8.0;

    let four = [
        Column {
            x: 0.0,
            w: 120.0,
            align: Align::Left,
        },
        Column {
            x: 120.0,
            w: 120.0,
            align: Align::Right,
        },
        Column {
            x: 240.0,
            w: 120.0,
            align: Align::Right,
        },
        Column {
            x: 360.0,
            w: 123.0,
            align: Align::Right,
        },
    ];
    doc.heading(&t("finance-statement-vat"), 11.0);
    let mut rows: Vec<Vec<String>> = s
        .vat
        .iter()
        .map(|v| {
            vec![
                l.percent(v.vat_percent),
                l.money(v.net),
                l.money(v.vat),
                l.money(v.gross),
            ]
        })
        .collect();
    if rows.is_empty() {
        rows.push(vec![
            "–".into(),
            l.money(Decimal::ZERO),
            l.money(Decimal::ZERO),
            l.money(Decimal::ZERO),
        ]);
    }
    doc.table(
        &four,
        &[
            t("finance-statement-rate"),
            t("finance-statement-net"),
            t("finance-statement-vat-amount"),
            t("finance-statement-gross"),
        ],
        &rows,
    );
    doc.row(
        &four,
        &[
            t("finance-statement-total"),
            l.money(s.total_net),
            l.money(s.total_vat),
            l.money(s.total_gross),
        ],
        true,
    );

    let full_title = format!(
        "{title}: {} {} – {}",
        s.owner_name,
        l.date(s.from),
        l.date(s.to)
    );
    let page_word = t("finance-statement-page");
    let foot = |n: usize, count: usize| format!("{} · {page_word} {n} / {count}", l.org_name);
    finish(
        doc,
        &Meta {
            title: &full_title,
            author: l.org_name,
            lang: l.format.lang.code(),
            producer: "Cooperage coop-finance",
            foot: &foot,
        },
    )
}
