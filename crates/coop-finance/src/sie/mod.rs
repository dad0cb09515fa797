//! SIE 4: the file format every Swedish accounting program reads. [`write`] streams a fiscal
//! year's ledger as a type 4E file (full export: chart, opening and closing balances, results,
//! vouchers) or 4I (vouchers for another program to import), in IBM code page 437 with CRLF line
//! ends and a `#KSUMMA` checksum. [`validate`] is a strict reader of our own, written from the
//! SIE 4B specification, that every file we make must pass.

mod validate;
mod writer;

pub use validate::{validate, Problem, Summary};
pub use writer::{export, write_vouchers, Company, ExportError, ExportSummary, Kind, Voucher};

/// IBM code page 437 bytes for `s`; a character the code page lacks becomes `?`.
pub fn to_cp437(s: &str) -> Vec<u8> {
    use codepage_437::{ToCp437 as _, CP437_CONTROL};
    s.chars()
        .map(|c| {
            let mut b = [0u8; 4];
            c.encode_utf8(&mut b)
                .to_cp437(&CP437_CONTROL)
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(b'?')
        })
        .collect()
}

/// The text of CP437 bytes.
pub fn from_cp437(bytes: &[u8]) -> String {
    use codepage_437::{BorrowFromCp437 as _, CP437_CONTROL};
    std::borrow::Cow::borrow_from_cp437(bytes, &CP437_CONTROL).into_owned()
}

/// The CRC-32 (zlib's) that `#KSUMMA` carries, over the CP437 bytes of each record's label and
/// field contents without separators, quotes or braces.
#[derive(Default)]
pub(crate) struct Checksum(crc32fast::Hasher);

impl Checksum {
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn value(&self) -> u32 {
        self.0.clone().finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_letters_survive_code_page_437() {
        let s = "Årets resultat: åäö ÅÄÖ é ü ñ";
        let b = to_cp437(s);
        assert_eq!(b.len(), s.chars().count());
        assert_eq!(b[0], 0x8f); // Å
        assert_eq!(from_cp437(&b), s);
        assert_eq!(to_cp437("ł中"), b"??");
    }
}
