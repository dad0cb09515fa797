//! A statement as a PDF: A4 pages in Helvetica (one of the PDF standard fonts every reader has,
//! so nothing is embedded), text in WinAnsiEncoding, which holds Swedish, Spanish and most
//! western European letters. Tables run on to further pages, each with its column heads again
//! and a page number. Written with `pdf-writer`; the content streams are left uncompressed
//! (a statement is a few kilobytes).

use coop_domain::{Currency, Money};
use coop_web::format::Format;
use pdf_writer::{Content, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};
use rust_decimal::Decimal;

use super::Statement;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BODY: f32 = 10.0;
const LINE: f32 = 14.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Helvetica's advance widths (thousandths of the font size) for printable ASCII, from Adobe's
/// AFM; other letters take their base letter's width.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' ' to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
];

/// A character as a WinAnsiEncoding byte (`?` where it has none). Latin-1's printable range is
/// the same in both; a few typographic marks sit in 0x80-0x9F.
fn win_ansi(c: char) -> u8 {
    match c {
        '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        // Swedish number formatting uses a real minus sign, which WinAnsi lacks.
        '\u{2212}' => b'-',
        '\u{202f}' => 0xa0,
        _ => b'?',
    }
}

/// A letter WinAnsi lacks, as its base letter where it has one: `ă` prints as `a`, `ł` as `l`
/// (the standard fonts have no glyph for them, and a name should stay readable).
fn fallback(c: char) -> char {
    use unicode_normalization::UnicodeNormalization as _;
    match c {
        'ł' => 'l',
        'Ł' => 'L',
        'đ' => 'd',
        'Đ' => 'D',
        'ı' => 'i',
        _ => std::iter::once(c).nfd().next().unwrap_or(c),
    }
}

fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match win_ansi(c) {
            b'?' if c != '?' => win_ansi(fallback(c)),
            b => b,
        })
        .collect()
}

/// The width of `text` at `size` points.
fn width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let base = match c {
                'å' | 'ä' | 'á' | 'à' | 'â' | 'ã' => 'a',
                'ö' | 'ó' | 'ò' | 'ô' | 'õ' | 'ø' => 'o',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'ü' | 'ú' | 'ù' | 'û' => 'u',
                'ñ' => 'n',
                'Å' | 'Ä' | 'Á' => 'A',
                'Ö' | 'Ó' | 'Ø' => 'O',
                'É' => 'E',
                'Ñ' => 'N',
                '\u{a0}' | '\u{202f}' => ' ',
                '\u{2212}' => '-',
                other => fallback(other),
            };
            let i = u32::from(base).wrapping_sub(32);
            HELVETICA
                .get(usize::try_from(i).unwrap_or(usize::MAX))
                .copied()
                .map_or(556, u32::from)
        })
        .sum();
    // Widths in thousandths of the size; a statement's strings are short.
    #[allow(clippy::cast_precision_loss)]
    let units = units as f32;
    units * size / 1000.0
}

/// `text`, shortened with an ellipsis to fit `max` points.
fn fit(text: &str, size: f32, max: f32) -> String {
    if width(text, size) <= max {
        return text.to_owned();
    }
    let mut out: String = text.to_owned();
    while !out.is_empty() && width(&format!("{out}…"), size) > max {
        out.pop();
    }
    format!("{out}…")
}

/// Where a cell's text sits in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A column: its left edge and width in points from the margin, and its alignment.
#[derive(Debug, Clone, Copy)]
struct Column {
    x: f32,
    w: f32,
    align: Align,
}

/// The pages as they are laid out: a cursor going down, a new page when it reaches the foot.
struct Layout {
    pages: Vec<Content>,
    y: f32,
    heads: Option<(Vec<Column>, Vec<String>)>,
}

impl Layout {
    fn new() -> Self {
        let mut l = Self {
            pages: Vec::new(),
            y: 0.0,
            heads: None,
        };
        l.new_page();
        l
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
        if let Some((cols, heads)) = self.heads.clone() {
            self.row(&cols, &heads, true);
            self.rule();
        }
    }

    /// Room for `lines` more lines, or a new page.
    fn need(&mut self, lines: f32) {
        if self.y - lines * LINE < MARGIN + LINE {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, y: f32, text: &str, bold: bool, size: f32) {
        let font = if bold { BOLD } else { REGULAR };
        let bytes = encode(text);
        let c = self.page();
        c.begin_text();
        c.set_font(font, size);
        c.next_line(x, y);
        c.show(Str(&bytes));
        c.end_text();
    }

    fn heading(&mut self, text: &str, size: f32) {
        self.need(3.0);
        self.y -= size + 6.0;
        let y = self.y;
        self.text_at(MARGIN, y, text, true, size);
        self.y -= 6.0;
    }

    fn para(&mut self, text: &str) {
        self.need(1.0);
        self.y -= LINE;
        let y = self.y;
        let t = fit(text, BODY, PAGE_W - 2.0 * MARGIN);
        self.text_at(MARGIN, y, &t, false, BODY);
    }

    fn row(&mut self, cols: &[Column], cells: &[String], bold: bool) {
        if self.y - LINE < MARGIN + LINE {
            self.new_page();
        }
        self.y -= LINE;
        let y = self.y;
        for (col, cell) in cols.iter().zip(cells) {
            let t = fit(cell, BODY, col.w);
            let x = match col.align {
                Align::Left => MARGIN + col.x,
                Align::Right => MARGIN + col.x + col.w - width(&t, BODY),
            };
            self.text_at(x, y, &t, bold, BODY);
        }
    }

    fn rule(&mut self) {
        self.y -= 4.0;
        let y = self.y;
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
    }

    /// A table: column heads (repeated on each new page), rows, and an optional bold total row.
    fn table(&mut self, cols: &[Column], heads: &[String], rows: &[Vec<String>]) {
        self.need(3.0);
        self.row(cols, heads, true);
        self.rule();
        self.heads = Some((cols.to_vec(), heads.to_vec()));
        for r in rows {
            self.row(cols, r, false);
        }
        self.heads = None;
        self.y -= 6.0;
    }
}

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

    finish(doc, l, &title, s)
}

/// Writes the laid-out pages, with "page n of m" at each foot, as one PDF.
fn finish(mut doc: Layout, l: &Labels<'_>, title: &str, s: &Statement) -> Vec<u8> {
    let count = doc.pages.len();
    for (i, page) in doc.pages.iter_mut().enumerate() {
        let foot = format!(
            "{} · {} {} / {}",
            l.org_name,
            (l.t)("finance-statement-page"),
            i + 1,
            count
        );
        let bytes = encode(&fit(&foot, 8.0, PAGE_W - 2.0 * MARGIN));
        page.begin_text();
        page.set_font(REGULAR, 8.0);
        page.next_line(MARGIN, MARGIN / 2.0);
        page.show(Str(&bytes));
        page.end_text();
    }

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_ref = |i: usize| Ref::new(first_page + i32::try_from(2 * i).unwrap_or(0));
    let content_ref = |i: usize| Ref::new(first_page + i32::try_from(2 * i + 1).unwrap_or(0));

    let mut pdf = Pdf::new();
    let lang = l.format.lang.code();
    pdf.catalog(catalog).pages(tree).lang(TextStr(lang));
    pdf.pages(tree)
        .kids((0..count).map(page_ref))
        .count(i32::try_from(count).unwrap_or(i32::MAX));
    for (f, name) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(f)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let full_title = format!(
        "{title}: {} {} – {}",
        s.owner_name,
        l.date(s.from),
        l.date(s.to)
    );
    pdf.document_info(info)
        .title(TextStr(&full_title))
        .author(TextStr(l.org_name))
        .producer(TextStr("Cooperage coop-finance"));
    for (i, content) in doc.pages.into_iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_ref(i));
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        pdf.stream(content_ref(i), &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_and_spanish_letters_have_their_win_ansi_bytes() {
        assert_eq!(
            encode("åäöÅÄÖñé€"),
            vec![0xe5, 0xe4, 0xf6, 0xc5, 0xc4, 0xd6, 0xf1, 0xe9, 0x80]
        );
        assert_eq!(
            encode("\u{2212}1\u{a0}234,50\u{a0}kr"),
            b"-1\xa0234,50\xa0kr".to_vec()
        );
        assert_eq!(encode("漢"), b"?".to_vec());
        assert_eq!(encode("Călinescu Łukasz"), b"Calinescu Lukasz".to_vec());
    }

    #[test]
    fn text_is_shortened_to_fit_its_column() {
        assert!((width("0123456789", 10.0) - 55.6).abs() < 0.01);
        let long = "A very long member name that cannot fit in a narrow column";
        let short = fit(long, 10.0, 100.0);
        assert!(short.ends_with('…'));
        assert!(width(&short, 10.0) <= 100.0);
        assert_eq!(fit("Kassa", 10.0, 100.0), "Kassa");
    }
}
