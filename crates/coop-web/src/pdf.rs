//! Documents as PDF for every service (a member's statement, a purchase order): A4 pages in
//! Helvetica (one of the PDF standard fonts every reader has, so nothing is embedded), text in
//! WinAnsiEncoding, which holds Swedish, Spanish and most western European letters; other
//! letters print as their base letter (`ă` as `a`), other scripts as `?`. A [`Layout`] puts
//! headings, paragraphs and tables down the page and runs on to the next, with a table's column
//! heads again; [`finish`] numbers the pages and writes the file with `pdf-writer`. The content
//! streams are left uncompressed (these documents are a few kilobytes).

use pdf_writer::{Content, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};

pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;
pub const MARGIN: f32 = 56.0;
pub const BODY: f32 = 10.0;
pub const LINE: f32 = 14.0;
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

pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match win_ansi(c) {
            b'?' if c != '?' => win_ansi(fallback(c)),
            b => b,
        })
        .collect()
}

/// The width of `text` at `size` points.
pub fn width(text: &str, size: f32) -> f32 {
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
pub fn fit(text: &str, size: f32, max: f32) -> String {
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
pub enum Align {
    Left,
    Right,
}

/// A column: its left edge and width in points from the margin, and its alignment.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub x: f32,
    pub w: f32,
    pub align: Align,
}

/// The pages as they are laid out: a cursor going down, a new page when it reaches the foot.
pub struct Layout {
    pages: Vec<Content>,
    pub y: f32,
    heads: Option<(Vec<Column>, Vec<String>)>,
}

impl Layout {
    pub fn new() -> Self {
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
    pub fn need(&mut self, lines: f32) {
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

    pub fn heading(&mut self, text: &str, size: f32) {
        self.need(3.0);
        self.y -= size + 6.0;
        let y = self.y;
        self.text_at(MARGIN, y, text, true, size);
        self.y -= 6.0;
    }

    pub fn para(&mut self, text: &str) {
        self.need(1.0);
        self.y -= LINE;
        let y = self.y;
        let t = fit(text, BODY, PAGE_W - 2.0 * MARGIN);
        self.text_at(MARGIN, y, &t, false, BODY);
    }

    pub fn row(&mut self, cols: &[Column], cells: &[String], bold: bool) {
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

    pub fn rule(&mut self) {
        self.y -= 4.0;
        let y = self.y;
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
    }

    /// A table: column heads (repeated on each new page), rows, and an optional bold total row.
    pub fn table(&mut self, cols: &[Column], heads: &[String], rows: &[Vec<String>]) {
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

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("pages", &self.pages.len())
            .finish_non_exhaustive()
    }
}

/// What the document says about itself.
#[allow(missing_debug_implementations)] // holds a closure
pub struct Meta<'a> {
    pub title: &'a str,
    pub author: &'a str,
    /// The language code of the text (`sv`), for the catalogue's `/Lang`.
    pub lang: &'a str,
    pub producer: &'a str,
    /// The foot of page `n` of `count` (from 1).
    pub foot: &'a dyn Fn(usize, usize) -> String,
}

/// Writes the laid-out pages, each with its foot, as one PDF.
pub fn finish(mut doc: Layout, meta: &Meta<'_>) -> Vec<u8> {
    let count = doc.pages.len();
    for (i, page) in doc.pages.iter_mut().enumerate() {
        let foot = (meta.foot)(i + 1, count);
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
    pdf.catalog(catalog).pages(tree).lang(TextStr(meta.lang));
    pdf.pages(tree)
        .kids((0..count).map(page_ref))
        .count(i32::try_from(count).unwrap_or(i32::MAX));
    for (f, name) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(f)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(meta.title))
        .author(TextStr(meta.author))
        .producer(TextStr(meta.producer));
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
