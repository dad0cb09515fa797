//! A Mettler Toledo 8217 scale on a pseudo-terminal pair (socat, as a USB-serial cable would
//! appear): the stand-in answers each `W` with the next reading of a script.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coop_pos_devices::scale::{weigh, Reading, Scale, ScaleError, Toledo8217, WeighError};
use rust_decimal_macros::dec;

struct Pty {
    child: Child,
    pub till: PathBuf,
    pub scale: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pty_pair() -> Pty {
    let dir = tempfile::tempdir().unwrap();
    let (till, scale) = (dir.path().join("till"), dir.path().join("scale"));
    let child = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", till.display()))
        .arg(format!("pty,raw,echo=0,link={}", scale.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat (Debian's package socat; `cargo xtask test` installs it)");
    let until = Instant::now() + Duration::from_secs(10);
    while !(till.exists() && scale.exists()) {
        assert!(Instant::now() < until, "socat made no pty pair");
        std::thread::sleep(Duration::from_millis(20));
    }
    Pty {
        child,
        till,
        scale,
        _dir: dir,
    }
}

/// The scale's side: answers each `W` with the next line of `script` (raw bytes), then stops.
fn scale_answers(path: PathBuf, script: Vec<Vec<u8>>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut asked = 0;
        let mut b = [0u8; 1];
        for answer in script {
            loop {
                if f.read(&mut b).unwrap_or(0) == 1 && b[0] == b'W' {
                    break;
                }
            }
            asked += 1;
            f.write_all(&answer).unwrap();
            f.flush().unwrap();
        }
        asked
    })
}

#[tokio::test]
async fn the_weight_is_taken_when_stable_less_tare_and_refused_at_zero() {
    let pty = pty_pair();
    let answers = scale_answers(
        pty.scale.clone(),
        vec![
            b"\x02?A\r".to_vec(),      // moving
            b"\x02?A\r".to_vec(),      // still moving
            b"\x02  0.735\r".to_vec(), // at rest
            b"\x02?B\r".to_vec(),      // over capacity
            b"\x02  0.000\r".to_vec(), // nothing on it
            b"\x02?D\r".to_vec(),      // below zero
        ],
    );
    let scale = Toledo8217::new(pty.till.clone(), 9600);
    let wait = Duration::from_secs(5);
    assert_eq!(weigh(&scale, dec!(0.035), wait).await, Ok(dec!(0.700)));
    assert_eq!(
        weigh(&scale, dec!(0), wait).await,
        Err(WeighError::OverCapacity)
    );
    assert_eq!(
        weigh(&scale, dec!(0), wait).await,
        Err(WeighError::NotPositive(dec!(0.000)))
    );
    assert_eq!(
        weigh(&scale, dec!(0), wait).await,
        Err(WeighError::UnderZero)
    );
    assert_eq!(answers.join().unwrap(), 6);
}

#[tokio::test]
async fn garbage_on_the_line_is_reported_and_survived() {
    let pty = pty_pair();
    let answers = scale_answers(
        pty.scale.clone(),
        vec![
            b"\xff\xfeNOISE\r".to_vec(),
            b"\x02 12.5x0\r".to_vec(),
            b"\x02  1.250N\r".to_vec(),
        ],
    );
    let scale = Toledo8217::new(pty.till.clone(), 9600);
    assert!(matches!(scale.read().await, Err(ScaleError::Garbled(_))));
    assert!(matches!(scale.read().await, Err(ScaleError::Garbled(_))));
    assert_eq!(
        scale.read().await,
        Ok(Reading::Stable {
            kg: dec!(1.250),
            net: true
        })
    );
    answers.join().unwrap();
}

#[tokio::test]
async fn a_scale_that_answers_nothing_or_is_unplugged() {
    let pty = pty_pair();
    let scale = Toledo8217::new(pty.till.clone(), 9600);
    assert!(matches!(scale.read().await, Err(ScaleError::NoAnswer(_))));
    let unplugged = Toledo8217::new("/dev/ttyUSB-not-here".into(), 9600);
    assert!(matches!(
        unplugged.read().await,
        Err(ScaleError::NoAnswer(_))
    ));
}
