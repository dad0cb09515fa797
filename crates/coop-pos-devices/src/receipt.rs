//! A receipt (or a Z report) laid out for a printer of `width` characters a line: 42 on 80 mm
//! paper in font A, 32 on 58 mm. The till writes the words (its language, its money format);
//! this module only places them.

use crate::escpos::{Align, Op};

/// A line of goods: its name, a detail under it (quantity × price, VAT), and its amount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub detail: String,
    pub amount: String,
}

/// What a printed receipt says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    /// Centred: the co-op's name (large), then its number and address.
    pub header: Vec<String>,
    /// Under the header: the receipt's number and time, and marks such as "training".
    pub title: Vec<String>,
    pub items: Vec<Item>,
    /// Label and amount, in bold: the total.
    pub total: Option<(String, String)>,
    /// Label and amount: VAT per rate, rounding, tenders, change.
    pub summary: Vec<(String, String)>,
    /// Centred at the end: a greeting, the member's name.
    pub footer: Vec<String>,
    /// The receipt's number, printed as a CODE128 barcode (or a QR code with `qr`).
    pub code: Option<String>,
    pub qr: bool,
    /// Open the cash drawer first (a cash tender, a manager's "no sale").
    pub drawer: bool,
}

/// Cuts `s` to `width` characters (a receipt line never wraps by itself on paper).
fn fit(s: &str, width: usize) -> String {
    s.chars().take(width).collect()
}

/// `left` and `right` on one line, `right` against the margin; a `left` too long for both goes
/// on a line of its own.
fn two(left: &str, right: &str, width: usize) -> Vec<String> {
    let (l, r) = (left.chars().count(), right.chars().count());
    if l + 1 + r <= width {
        vec![format!("{left}{}{right}\n", " ".repeat(width - l - r))]
    } else {
        vec![
            format!("{}\n", fit(left, width)),
            format!(
                "{}{}\n",
                " ".repeat(width.saturating_sub(r)),
                fit(right, width)
            ),
        ]
    }
}

/// The ops of a receipt.
#[must_use]
pub fn render(doc: &Doc, width: usize) -> Vec<Op> {
    let mut ops = vec![Op::Init, Op::CodePage];
    if doc.drawer {
        ops.push(Op::Drawer { pin5: false });
    }
    ops.push(Op::Align(Align::Center));
    for (i, h) in doc.header.iter().enumerate() {
        if i == 0 {
            ops.extend([
                Op::Large(true),
                Op::Text(format!("{}\n", fit(h, width / 2))),
                Op::Large(false),
            ]);
        } else {
            ops.push(Op::Text(format!("{}\n", fit(h, width))));
        }
    }
    for t in &doc.title {
        ops.push(Op::Text(format!("{}\n", fit(t, width))));
    }
    ops.push(Op::Align(Align::Left));
    ops.push(Op::Text(format!("{}\n", "-".repeat(width))));
    for item in &doc.items {
        ops.extend(
            two(&item.name, &item.amount, width)
                .into_iter()
                .map(Op::Text),
        );
        if !item.detail.is_empty() {
            ops.push(Op::Text(format!("  {}\n", fit(&item.detail, width - 2))));
        }
    }
    ops.push(Op::Text(format!("{}\n", "-".repeat(width))));
    if let Some((label, amount)) = &doc.total {
        ops.push(Op::Bold(true));
        ops.extend(two(label, amount, width).into_iter().map(Op::Text));
        ops.push(Op::Bold(false));
    }
    for (label, amount) in &doc.summary {
        ops.extend(two(label, amount, width).into_iter().map(Op::Text));
    }
    ops.push(Op::Align(Align::Center));
    if !doc.footer.is_empty() {
        ops.push(Op::Feed(1));
    }
    for f in &doc.footer {
        ops.push(Op::Text(format!("{}\n", fit(f, width))));
    }
    if let Some(code) = &doc.code {
        ops.push(Op::Feed(1));
        ops.push(if doc.qr {
            Op::Qr(code.clone())
        } else {
            Op::Code128(code.clone())
        });
        ops.push(Op::Align(Align::Left));
    }
    ops.push(Op::Cut);
    ops
}

/// The card terminal's own receipt (its slip), as it sent the lines: left-aligned, each cut to
/// `width`, then the paper cut. Empty when there is nothing to print.
#[must_use]
pub fn slip(lines: &[String], width: usize) -> Vec<Op> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut ops = vec![Op::Init, Op::CodePage, Op::Align(Align::Left)];
    for l in lines {
        ops.push(Op::Text(format!("{}\n", fit(l.trim_end(), width))));
    }
    ops.push(Op::Cut);
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::{decode, encode};

    #[test]
    fn a_receipt_reads_back_line_by_line() {
        let doc = Doc {
            header: vec!["Röstånga Matkooperativ".into(), "Org.nr 769600-1234".into()],
            title: vec!["Kvitto 3-1042 · 2026-11-30 16:02".into()],
            items: vec![
                Item {
                    name: "Havregryn 1 kg".into(),
                    detail: "2 × 24,90 · 12 %".into(),
                    amount: "49,80".into(),
                },
                Item {
                    name: "Ekologisk kallpressad rapsolja från Österlen 1 l".into(),
                    detail: String::new(),
                    amount: "89,00".into(),
                },
            ],
            total: Some(("Att betala".into(), "138,80".into())),
            summary: vec![
                ("Moms 12 %".into(), "14,87".into()),
                ("Kontant".into(), "200,00".into()),
                ("Växel".into(), "61,20".into()),
            ],
            footer: vec!["Tack för handeln!".into()],
            code: Some("3-1042".into()),
            qr: false,
            drawer: true,
        };
        let d = decode(&encode(&render(&doc, 42)));
        let lines: Vec<&str> = d.lines.iter().map(String::as_str).collect();
        assert_eq!(d.drawer, vec![2]);
        assert_eq!(d.cuts, 1);
        assert_eq!(lines[0], "Röstånga Matkooperati", "large: half the width");
        assert_eq!(lines[2], "Kvitto 3-1042 · 2026-11-30 16:02");
        assert!(lines.contains(&"Havregryn 1 kg                       49,80"));
        assert!(lines.contains(&"  2 × 24,90 · 12 %"));
        // Too long for its amount beside it: the amount goes under it.
        assert!(lines.contains(&"Ekologisk kallpressad rapsolja från Österl"));
        assert!(lines.contains(&"                                     89,00"));
        assert!(lines.contains(&"Växel                                61,20"));
        assert!(lines.contains(&"[CODE128 3-1042]"));
        assert!(lines.iter().all(|l| l.chars().count() <= 42), "{lines:#?}");
        assert!(d.pc858 && d.unknown.is_empty());
    }
}
