//! The till's devices: the receipt printer (ESC/POS over USB, the network or a serial line),
//! the cash drawer behind it, the checkout scale, and the card terminal through the payment
//! bridge. Each is behind a small interface with a simulator, so a till without the device
//! still sells (other tenders) and a test can run without hardware. A pole display shows the
//! member what they pay.

pub mod bridge;
pub mod escpos;
pub mod payment;
pub mod pole;
pub mod printer;
pub mod receipt;
pub mod scale;
pub mod serial;
pub mod zvt;
pub mod zvt_terminal;
