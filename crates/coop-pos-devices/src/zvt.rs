//! ZVT, the German terminal protocol (Zahlungsverkehrsterminal, "ECR interface ZVT protocol",
//! PA00P015/PA00P016), over TCP (usually port 20007): the messages the bridge sends a card
//! terminal and reads back, written from the specification's field definitions.
//!
//! Over TCP an APDU is `CLASS INSTR LEN DATA` (LEN `FF` then two bytes little-endian for 255
//! and more), no further framing. Every APDU the terminal sends is acknowledged with `80 00 00`.
//! Data fields ("BMPs") are a tag byte and a value of fixed length, or of a length given as
//! `F<d>` digits before it (LLVAR two digits, LLLVAR three), or BMP 06 (a TLV container with a
//! BER length). Amounts are six bytes of packed BCD in minor units; the currency two bytes of
//! BCD (ISO 4217 numeric: 752 SEK is `07 52`).

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// An application protocol data unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    pub class: u8,
    pub instr: u8,
    pub data: Vec<u8>,
}

/// `80 00 00`: received.
pub const ACK: [u8; 3] = [0x80, 0x00, 0x00];

/// What went wrong on the wire.
#[derive(Debug, thiserror::Error)]
pub enum ZvtError {
    #[error("the connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a malformed message: {0}")]
    Malformed(String),
}

impl Apdu {
    #[must_use]
    pub fn new(class: u8, instr: u8, data: Vec<u8>) -> Self {
        Self { class, instr, data }
    }

    #[must_use]
    pub fn is(&self, class: u8, instr: u8) -> bool {
        self.class == class && self.instr == instr
    }

    /// Its bytes on the wire.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.class, self.instr];
        let n = self.data.len();
        if n < 0xff {
            out.push(u8::try_from(n).expect("below 255"));
        } else {
            let n = u16::try_from(n).unwrap_or(u16::MAX);
            out.push(0xff);
            out.extend(n.to_le_bytes());
        }
        out.extend(&self.data);
        out
    }

    /// Reads one APDU.
    ///
    /// # Errors
    /// The connection ended or failed.
    pub async fn read(r: &mut (impl AsyncRead + Unpin)) -> Result<Self, ZvtError> {
        let mut head = [0u8; 3];
        r.read_exact(&mut head).await?;
        let len = if head[2] == 0xff {
            let mut l = [0u8; 2];
            r.read_exact(&mut l).await?;
            usize::from(u16::from_le_bytes(l))
        } else {
            usize::from(head[2])
        };
        let mut data = vec![0u8; len];
        r.read_exact(&mut data).await?;
        Ok(Self::new(head[0], head[1], data))
    }

    /// Writes it.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn write(&self, w: &mut (impl AsyncWrite + Unpin)) -> Result<(), ZvtError> {
        w.write_all(&self.encode()).await?;
        w.flush().await?;
        Ok(())
    }
}

/// `n` as `bytes` bytes of packed BCD (leading zeros).
#[must_use]
pub fn bcd(n: u64, bytes: usize) -> Vec<u8> {
    let digits = format!("{n:0width$}", width = bytes * 2);
    let digits = &digits[digits.len() - bytes * 2..];
    digits
        .as_bytes()
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect()
}

/// Packed BCD back to a number (`None` if a nibble is not a digit).
#[must_use]
pub fn from_bcd(b: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for byte in b {
        for nibble in [byte >> 4, byte & 0x0f] {
            if nibble > 9 {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(nibble))?;
        }
    }
    Some(n)
}

/// How long a BMP's value is.
enum Len {
    Fixed(usize),
    Ll,
    Lll,
    Tlv,
}

fn bmp_len(tag: u8) -> Option<Len> {
    Some(match tag {
        0x01..=0x03
        | 0x05
        | 0x19
        | 0x27
        | 0x8a
        | 0x8c
        | 0xa0
        | 0xd0
        | 0xd2
        | 0xd3
        | 0xe0
        | 0xea => Len::Fixed(1),
        0x0d | 0x0e | 0x17 | 0x3a | 0x49 | 0x87 => Len::Fixed(2),
        0x0b | 0x0c | 0x37 | 0x3d | 0x88 | 0xaa => Len::Fixed(3),
        0x29 => Len::Fixed(4),
        0xba => Len::Fixed(5),
        0x04 => Len::Fixed(6),
        0x3b | 0xeb => Len::Fixed(8),
        0x2a => Len::Fixed(15),
        0x22 | 0x23 | 0x2d | 0x8b | 0xa7 | 0xd1 | 0xe1..=0xe9 | 0xf1..=0xf9 => Len::Ll,
        0x24 | 0x2e | 0x3c | 0x60 | 0x92 | 0x9a | 0xaf => Len::Lll,
        0x06 => Len::Tlv,
        _ => return None,
    })
}

/// Splits a message's data into its BMPs (tag and value). `skip` untagged bytes come first
/// (a password, say).
///
/// # Errors
/// A tag whose length is not known, or a value that runs past the end.
pub fn bmps(data: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, ZvtError> {
    let mut out = Vec::new();
    let mut i = 0;
    let short = || ZvtError::Malformed("a field runs past the end".into());
    while i < data.len() {
        let tag = data[i];
        i += 1;
        let len = match bmp_len(tag) {
            Some(Len::Fixed(n)) => n,
            Some(Len::Ll | Len::Lll) => {
                let digits = if matches!(bmp_len(tag), Some(Len::Ll)) {
                    2
                } else {
                    3
                };
                let mut n = 0usize;
                for _ in 0..digits {
                    let b = *data.get(i).ok_or_else(short)?;
                    if b & 0xf0 != 0xf0 || b & 0x0f > 9 {
                        return Err(ZvtError::Malformed(format!("a length of BMP {tag:02X}")));
                    }
                    n = n * 10 + usize::from(b & 0x0f);
                    i += 1;
                }
                n
            }
            Some(Len::Tlv) => {
                let first = *data.get(i).ok_or_else(short)?;
                i += 1;
                match first {
                    0x81 => {
                        let n = usize::from(*data.get(i).ok_or_else(short)?);
                        i += 1;
                        n
                    }
                    0x82 => {
                        let hi = usize::from(*data.get(i).ok_or_else(short)?);
                        let lo = usize::from(*data.get(i + 1).ok_or_else(short)?);
                        i += 2;
                        hi * 256 + lo
                    }
                    n if n < 0x80 => usize::from(n),
                    _ => return Err(ZvtError::Malformed("a TLV length".into())),
                }
            }
            None => return Err(ZvtError::Malformed(format!("an unknown BMP {tag:02X}"))),
        };
        let value = data.get(i..i + len).ok_or_else(short)?.to_vec();
        i += len;
        out.push((tag, value));
    }
    Ok(out)
}

/// A BMP's value among them.
#[must_use]
pub fn field(bmps: &[(u8, Vec<u8>)], tag: u8) -> Option<&[u8]> {
    bmps.iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v.as_slice())
}

/// What a terminal's status information (`04 0F`) says of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusInfo {
    /// BMP 27: `00` done; else why not (see [`result_text`]).
    pub result: u8,
    /// BMP 04, minor units.
    pub amount: Option<u64>,
    /// BMP 0B, the terminal's trace number.
    pub trace: Option<u64>,
    /// BMP 87, the receipt number.
    pub receipt: Option<u64>,
}

impl StatusInfo {
    /// From a `04 0F`'s data.
    ///
    /// # Errors
    /// Its fields do not parse, or it has no result code (BMP 27): a status without one is
    /// never taken for an approval.
    pub fn parse(data: &[u8]) -> Result<Self, ZvtError> {
        let f = bmps(data)?;
        Ok(Self {
            result: field(&f, 0x27)
                .and_then(|v| v.first().copied())
                .ok_or_else(|| {
                    ZvtError::Malformed("a status information without a result code".into())
                })?,
            amount: field(&f, 0x04).and_then(from_bcd),
            trace: field(&f, 0x0b).and_then(from_bcd),
            receipt: field(&f, 0x87).and_then(from_bcd),
        })
    }

    /// Its `04 0F` data.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut d = vec![0x27, self.result];
        if let Some(a) = self.amount {
            d.push(0x04);
            d.extend(bcd(a, 6));
        }
        if let Some(t) = self.trace {
            d.push(0x0b);
            d.extend(bcd(t, 3));
        }
        if let Some(r) = self.receipt {
            d.push(0x87);
            d.extend(bcd(r, 2));
        }
        d
    }
}

/// What a result code (BMP 27, or the byte of `06 1E`) means, for the till's screen and log.
#[must_use]
pub fn result_text(code: u8) -> &'static str {
    match code {
        0x00 => "done",
        0x05 => "declined by the card issuer",
        0x01..=0x63 => "declined by the card network",
        0x64 => "card not readable",
        0x65 => "card data not present",
        0x66 => "processing error",
        0x6c => "aborted at the terminal (its timeout or the cancel key)",
        0x6e => "card blocked",
        0x6f => "wrong currency",
        0x71 => "not enough credit",
        0x72 => "chip error",
        0x78 => "card expired",
        0x79 => "card not yet valid",
        0x7a => "card unknown",
        0x7d => "communication error",
        0x83 => "function not possible",
        0x9a => "protocol error",
        0xa0 => "receiver not ready",
        0xa1 => "remote station does not answer",
        0xa3 => "no connection",
        0xb4 => "already reversed",
        0xb5 => "reversal not possible",
        0xc3 => "maximum amount exceeded",
        0xc5 => "payment method not supported",
        0xc6 => "currency not applicable",
        0xc8 => "amount too small",
        0xcc => "terminal printer not ready",
        0xff => "system error",
        _ => "refused by the terminal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_both_ways() {
        assert_eq!(bcd(1250, 6), vec![0, 0, 0, 0, 0x12, 0x50]);
        assert_eq!(bcd(752, 2), vec![0x07, 0x52]);
        assert_eq!(from_bcd(&[0, 0, 0, 0, 0x12, 0x50]), Some(1250));
        assert_eq!(from_bcd(&[0x1a]), None);
    }

    #[tokio::test]
    async fn apdus_short_and_long() {
        let short = Apdu::new(0x06, 0x01, vec![1, 2, 3]);
        assert_eq!(short.encode(), vec![0x06, 0x01, 3, 1, 2, 3]);
        let long = Apdu::new(0x06, 0xd3, vec![7; 861]);
        let bytes = long.encode();
        assert_eq!(&bytes[..5], &[0x06, 0xd3, 0xff, 0x5d, 0x03]);
        let mut r = &bytes[..];
        assert_eq!(Apdu::read(&mut r).await.unwrap(), long);
    }

    #[test]
    fn status_information_round_trip_and_fields_of_every_shape() {
        let s = StatusInfo {
            result: 0,
            amount: Some(13880),
            trace: Some(42),
            receipt: Some(7),
        };
        assert_eq!(StatusInfo::parse(&s.encode()).unwrap(), s);
        // An LLVAR PAN (masked, `E` nibbles), an LLLVAR text and a TLV container among them.
        let mut d = s.encode();
        d.extend([0x22, 0xf0, 0xf4, 0x67, 0x99, 0xee, 0x12]);
        d.extend([0x3c, 0xf0, 0xf0, 0xf3, b'a', b'b', b'c']);
        d.extend([0x06, 0x03, 0x1f, 0x07, 0x01]);
        assert_eq!(StatusInfo::parse(&d).unwrap(), s);
        assert!(matches!(bmps(&[0x27]), Err(ZvtError::Malformed(_))));
        assert!(matches!(bmps(&[0x7f, 0x00]), Err(ZvtError::Malformed(_))));
        assert!(matches!(
            bmps(&[0x22, 0xf0, 0x35]),
            Err(ZvtError::Malformed(_))
        ));
    }
}
