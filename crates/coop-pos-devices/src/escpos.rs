//! ESC/POS, the command language of receipt printers (Epson's, and the Star, Citizen, Bixolon
//! and Custom printers that speak it): what the till says to a printer as [`Op`]s, their bytes
//! ([`encode`]), and the way back from bytes to text lines ([`decode`]), which the tests use to
//! read what a receipt says.
//!
//! Text goes out in code page PC858 (`ESC t 19`): PC850 with the euro sign, which holds every
//! letter of Swedish, Norwegian, Danish, Finnish, German and Spanish (å ä ö æ ø ñ ¿ ¡ ü ß é).
//! A character it has not is printed as `?`. The bytes of each op are those python-escpos 3.1
//! emits for the same command (checked byte for byte by a test), so the till talks as the most
//! used open implementation does.

/// Horizontal alignment of the lines that follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One thing to tell the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `ESC @`: forget every earlier setting.
    Init,
    /// `ESC t 19`: text in PC858 from here on.
    CodePage,
    /// Text, encoded in PC858; `\n` ends a line.
    Text(String),
    /// `ESC E n`.
    Bold(bool),
    /// `ESC a n`.
    Align(Align),
    /// `GS ! n`: twice as wide and high, or normal.
    Large(bool),
    /// `ESC d n`: print and feed `n` lines.
    Feed(u8),
    /// Feed six lines and cut the paper (`ESC d 6`, `GS V 0`).
    Cut,
    /// `ESC p m 50 50`: a 100 ms pulse on the drawer connector's pin 2 or 5.
    Drawer { pin5: bool },
    /// A CODE128 barcode (code set B), centred, 64 dots high, with its text below.
    Code128(String),
    /// A QR code (model 2, module size 6, error correction M).
    Qr(String),
}

/// PC858's characters for the bytes 0x80 to 0xFF (PC850 with € at 0xD5).
const PC858_HIGH: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00f8}', '\u{00a3}', '\u{00d8}', '\u{00d7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{00ae}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00c1}', '\u{00c2}', '\u{00c0}',
    '\u{00a9}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{00a2}', '\u{00a5}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{00e3}', '\u{00c3}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{00a4}',
    '\u{00f0}', '\u{00d0}', '\u{00ca}', '\u{00cb}', '\u{00c8}', '\u{20ac}', '\u{00cd}', '\u{00ce}',
    '\u{00cf}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{00a6}', '\u{00cc}', '\u{2580}',
    '\u{00d3}', '\u{00df}', '\u{00d4}', '\u{00d2}', '\u{00f5}', '\u{00d5}', '\u{00b5}', '\u{00fe}',
    '\u{00de}', '\u{00da}', '\u{00db}', '\u{00d9}', '\u{00fd}', '\u{00dd}', '\u{00af}', '\u{00b4}',
    '\u{00ad}', '\u{00b1}', '\u{2017}', '\u{00be}', '\u{00b6}', '\u{00a7}', '\u{00f7}', '\u{00b8}',
    '\u{00b0}', '\u{00a8}', '\u{00b7}', '\u{00b9}', '\u{00b3}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];

/// The PC858 byte for a character: ASCII as itself, the rest from the table; the typographic
/// dashes, minus and quotes as their ASCII look-alikes; `?` for anything else absent.
#[must_use]
pub fn pc858(c: char) -> u8 {
    if c.is_ascii() {
        return c as u8;
    }
    match c {
        '\u{2212}' | '\u{2013}' | '\u{2014}' | '\u{2010}' | '\u{2011}' => return b'-',
        '\u{2018}' | '\u{2019}' | '\u{201a}' => return b'\'',
        '\u{201c}' | '\u{201d}' | '\u{201e}' => return b'"',
        _ => {}
    }
    PC858_HIGH
        .iter()
        .position(|&x| x == c)
        .map_or(b'?', |i| 0x80 + u8::try_from(i).expect("128 entries"))
}

/// The character of a PC858 byte.
#[must_use]
pub fn pc858_char(b: u8) -> char {
    if b < 0x80 {
        char::from(b)
    } else {
        PC858_HIGH[usize::from(b - 0x80)]
    }
}

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;

/// The bytes of the ops, in order.
#[must_use]
pub fn encode(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Init => out.extend([ESC, b'@']),
            Op::CodePage => out.extend([ESC, b't', 19]),
            // A name from the catalogue is text, never a command: control characters (ESC,
            // GS, DLE, …) print as spaces, so no text can open the drawer or cut the paper.
            Op::Text(s) => out.extend(s.chars().map(|c| {
                if (c.is_control() && c != '\n') || c == '\u{7f}' {
                    b' '
                } else {
                    pc858(c)
                }
            })),
            Op::Bold(on) => out.extend([ESC, b'E', u8::from(*on)]),
            Op::Align(a) => out.extend([
                ESC,
                b'a',
                match a {
                    Align::Left => 0,
                    Align::Center => 1,
                    Align::Right => 2,
                },
            ]),
            Op::Large(on) => out.extend([GS, b'!', if *on { 0x11 } else { 0x00 }]),
            Op::Feed(n) => out.extend([ESC, b'd', *n]),
            Op::Cut => out.extend([ESC, b'd', 6, GS, b'V', 0]),
            Op::Drawer { pin5 } => out.extend([ESC, b'p', u8::from(*pin5), 50, 50]),
            Op::Code128(data) => {
                // Height 64 dots, module width 3, HRI font A, below; then GS k 73 n {B data.
                out.extend([ESC, b'a', 1]);
                out.extend([GS, b'h', 64, GS, b'w', 3, GS, b'f', 0, GS, b'H', 2]);
                let data: Vec<u8> = data
                    .chars()
                    .filter(char::is_ascii)
                    .map(|c| c as u8)
                    .collect();
                let n = u8::try_from(data.len() + 2).unwrap_or(u8::MAX);
                out.extend([GS, b'k', 73, n, b'{', b'B']);
                out.extend(&data[..usize::from(n) - 2]);
            }
            Op::Qr(data) => {
                let data = data.as_bytes();
                let stored = data.len() + 3;
                let (pl, ph) = (
                    u8::try_from(stored % 256).expect("a byte"),
                    u8::try_from((stored / 256).min(255)).expect("a byte"),
                );
                out.extend([GS, b'(', b'k', 4, 0, 49, 65, 50, 0]);
                out.extend([GS, b'(', b'k', 3, 0, 49, 67, 6]);
                out.extend([GS, b'(', b'k', 3, 0, 49, 69, 49]);
                out.extend([GS, b'(', b'k', pl, ph, 49, 80, 48]);
                out.extend(data);
                out.extend([GS, b'(', b'k', 3, 0, 49, 81, 48]);
            }
        }
    }
    out
}

/// What a printer was told, read back: the text lines as printed, and what else happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Each printed line (a cut ends the last one), barcodes as `[CODE128 data]` and
    /// `[QR data]` lines of their own.
    pub lines: Vec<String>,
    /// How many cuts.
    pub cuts: usize,
    /// Drawer pulses, by pin (2 or 5).
    pub drawer: Vec<u8>,
    /// Whether every character came in PC858 (after `ESC t 19`).
    pub pc858: bool,
    /// Bytes that were not understood (offsets).
    pub unknown: Vec<usize>,
}

/// Reads ESC/POS bytes back into lines of text (for tests and for a receipt's preview).
#[must_use]
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut d = Decoded {
        pc858: true,
        ..Decoded::default()
    };
    let mut page_858 = false;
    let mut line = String::new();
    let mut i = 0;
    let end_line = |line: &mut String, d: &mut Decoded| {
        d.lines.push(std::mem::take(line));
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                end_line(&mut line, &mut d);
                i += 1;
            }
            ESC if i + 1 < bytes.len() => {
                let cmd = bytes[i + 1];
                match cmd {
                    b'@' => {
                        page_858 = false;
                        i += 2;
                    }
                    b't' | b'E' | b'a' | b'!' | b'M' | b'-' => {
                        if cmd == b't' {
                            page_858 = bytes.get(i + 2) == Some(&19);
                        }
                        i += 3;
                    }
                    b'd' => {
                        if !line.is_empty() {
                            end_line(&mut line, &mut d);
                        }
                        let n = bytes.get(i + 2).copied().unwrap_or(0);
                        for _ in 1..n {
                            d.lines.push(String::new());
                        }
                        i += 3;
                    }
                    b'p' => {
                        d.drawer
                            .push(if bytes.get(i + 2).is_some_and(|m| m & 1 == 1) {
                                5
                            } else {
                                2
                            });
                        i += 5;
                    }
                    _ => {
                        d.unknown.push(i);
                        i += 2;
                    }
                }
            }
            GS if i + 1 < bytes.len() => {
                let cmd = bytes[i + 1];
                match cmd {
                    b'!' | b'h' | b'w' | b'f' | b'H' | b'B' | b'b' => i += 3,
                    b'V' => {
                        if !line.is_empty() {
                            end_line(&mut line, &mut d);
                        }
                        d.cuts += 1;
                        // GS V m, or GS V m n for m of 65 and up.
                        i += if bytes.get(i + 2).is_some_and(|m| *m >= 65) {
                            4
                        } else {
                            3
                        };
                    }
                    b'k' => {
                        // GS k m n data (form B: m >= 65).
                        let n = usize::from(bytes.get(i + 3).copied().unwrap_or(0));
                        let data = bytes.get(i + 4..i + 4 + n).unwrap_or_default();
                        let data = String::from_utf8_lossy(data);
                        let data = data.strip_prefix("{B").unwrap_or(&data);
                        if !line.is_empty() {
                            end_line(&mut line, &mut d);
                        }
                        d.lines.push(format!("[CODE128 {data}]"));
                        i += 4 + n;
                    }
                    b'(' if bytes.get(i + 2) == Some(&b'k') => {
                        let pl = usize::from(bytes.get(i + 3).copied().unwrap_or(0));
                        let ph = usize::from(bytes.get(i + 4).copied().unwrap_or(0));
                        let len = pl + 256 * ph;
                        let body = bytes.get(i + 5..i + 5 + len).unwrap_or_default();
                        if body.len() >= 3 && body[0] == 49 && body[1] == 80 {
                            if !line.is_empty() {
                                end_line(&mut line, &mut d);
                            }
                            d.lines
                                .push(format!("[QR {}]", String::from_utf8_lossy(&body[3..])));
                        }
                        i += 5 + len;
                    }
                    _ => {
                        d.unknown.push(i);
                        i += 2;
                    }
                }
            }
            0x10 if bytes.get(i + 1) == Some(&0x04) => i += 3,
            _ => {
                if b >= 0x80 && !page_858 {
                    d.pc858 = false;
                }
                if b >= 0x20 || b >= 0x80 {
                    line.push(pc858_char(b));
                } else if b != b'\r' {
                    d.unknown.push(i);
                }
                i += 1;
            }
        }
    }
    if !line.is_empty() {
        d.lines.push(line);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typographic_minus_dashes_and_quotes_print_as_their_look_alikes() {
        let bytes: Vec<u8> = "short (−) – “x” ’ ☃".chars().map(pc858).collect();
        assert_eq!(bytes, b"short (-) - \"x\" ' ?".to_vec());
    }

    #[test]
    fn swedish_and_spanish_letters_go_out_in_pc858_and_come_back() {
        let text = "Åsa äter gröt, Ñandú mañana ¿sí? ¡Olé! 12,50 €";
        let bytes = encode(&[Op::Init, Op::CodePage, Op::Text(format!("{text}\n"))]);
        assert_eq!(&bytes[..5], &[0x1b, 0x40, 0x1b, 0x74, 19]);
        // å ä ö ñ in PC858.
        for (c, b) in [
            ('å', 0x86),
            ('ä', 0x84),
            ('ö', 0x94),
            ('ñ', 0xa4),
            ('Å', 0x8f),
            ('Ä', 0x8e),
            ('Ö', 0x99),
            ('Ñ', 0xa5),
            ('€', 0xd5),
        ] {
            assert_eq!(pc858(c), b, "{c}");
            assert_eq!(pc858_char(b), c);
        }
        let d = decode(&bytes);
        assert_eq!(d.lines, vec![text.to_owned()]);
        assert!(d.pc858 && d.unknown.is_empty());
        // A character PC858 has not becomes '?'.
        assert_eq!(pc858('Ω'), b'?');
    }

    #[test]
    fn text_never_carries_a_command() {
        // A product named with the drawer pulse and a cut inside it.
        let bytes = encode(&[Op::Text(
            "Ost\u{1b}p\u{0}22\u{1d}V\u{0}\u{10}\u{4}\u{1}\u{7f}\n".into(),
        )]);
        assert!(
            !bytes
                .iter()
                .any(|b| matches!(b, 0x1b | 0x1d | 0x10 | 0x00 | 0x7f)),
            "{bytes:?}"
        );
        let d = decode(&bytes);
        assert!(d.drawer.is_empty() && d.cuts == 0);
        assert_eq!(d.lines, vec!["Ost p 22 V     ".to_owned()]);
    }

    #[test]
    fn barcodes_cuts_and_the_drawer_are_read_back() {
        let bytes = encode(&[
            Op::Init,
            Op::CodePage,
            Op::Drawer { pin5: false },
            Op::Text("Kvitto\n".into()),
            Op::Code128("R-1042".into()),
            Op::Qr("https://coop.example.org/pos/r/1042".into()),
            Op::Cut,
        ]);
        let d = decode(&bytes);
        assert_eq!(d.drawer, vec![2]);
        assert_eq!(d.cuts, 1);
        assert_eq!(d.lines[0], "Kvitto");
        assert!(
            d.lines.contains(&"[CODE128 R-1042]".to_owned()),
            "{:?}",
            d.lines
        );
        assert!(d
            .lines
            .contains(&"[QR https://coop.example.org/pos/r/1042]".to_owned()));
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
    }
}
