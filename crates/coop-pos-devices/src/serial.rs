//! A serial line (a scale, a serial printer, a pole display): opened raw at a baud and framing,
//! with reads that give up after a fifth of a second with nothing (`VMIN 0`, `VTIME 2`), so a
//! device that says nothing never holds a thread.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg, SpecialCharacterIndices};

/// Data bits and parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// 8 data bits, no parity (printers, displays).
    EightNone,
    /// 7 data bits, even parity (Mettler Toledo 8217 scales).
    SevenEven,
}

fn baud_rate(baud: u32) -> std::io::Result<BaudRate> {
    Ok(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{other} baud is not a serial speed (1200 to 115200)"),
            ))
        }
    })
}

/// Opens `path` raw at `baud` with `framing`.
///
/// # Errors
/// The device is not there or not a serial line, or the speed is not one.
pub fn open(path: &Path, baud: u32, framing: Framing) -> std::io::Result<tokio::fs::File> {
    let speed = baud_rate(baud)?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path)?;
    let mut t = termios::tcgetattr(&f)?;
    termios::cfmakeraw(&mut t);
    termios::cfsetspeed(&mut t, speed)?;
    t.control_flags &= !(ControlFlags::CSIZE | ControlFlags::PARENB | ControlFlags::PARODD);
    t.control_flags |= ControlFlags::CREAD | ControlFlags::CLOCAL;
    match framing {
        Framing::EightNone => t.control_flags |= ControlFlags::CS8,
        Framing::SevenEven => t.control_flags |= ControlFlags::CS7 | ControlFlags::PARENB,
    }
    t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
    t.control_chars[SpecialCharacterIndices::VTIME as usize] = 2;
    termios::tcsetattr(&f, SetArg::TCSANOW, &t)?;
    Ok(tokio::fs::File::from_std(f))
}
