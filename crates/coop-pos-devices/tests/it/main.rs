//! The till's devices against stand-ins that speak their side of each protocol: a network
//! printer on loopback, a scale on a pseudo-terminal (socat), a ZVT card terminal; and the
//! printer's bytes against python-escpos's.

mod bridge;
#[cfg(feature = "interop")]
mod escpos_reference;
mod printer;
mod scale;
mod zvt;
