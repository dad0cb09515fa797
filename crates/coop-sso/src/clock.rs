//! Time, injected: the kit's clock (tests move a `TestClock` instead of sleeping).

pub use coop_web::clock::{Clock, SharedClock, SystemClock, TestClock};
