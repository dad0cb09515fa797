//! The printer's bytes against python-escpos's (PyPI, the most used open ESC/POS library), for
//! the same commands: every op the till uses, and a whole receipt.

use coop_pos_devices::escpos::{encode, Align, Op};
use coop_pos_devices::receipt::render;
use serde_json::{json, Value};

fn as_json(op: &Op) -> Value {
    match op {
        Op::Init => json!({ "op": "init" }),
        Op::CodePage => json!({ "op": "codepage" }),
        Op::Text(t) => json!({ "op": "text", "text": t }),
        Op::Bold(on) => json!({ "op": "bold", "on": on }),
        Op::Align(a) => json!({ "op": "align", "to": match a {
            Align::Left => "left",
            Align::Center => "center",
            Align::Right => "right",
        } }),
        Op::Large(on) => json!({ "op": "large", "on": on }),
        Op::Feed(n) => json!({ "op": "feed", "lines": n }),
        Op::Cut => json!({ "op": "cut" }),
        Op::Drawer { pin5 } => json!({ "op": "drawer", "pin": if *pin5 { 5 } else { 2 } }),
        Op::Code128(d) => json!({ "op": "code128", "data": d }),
        Op::Qr(d) => json!({ "op": "qr", "data": d }),
    }
}

fn reference(ops: &[Op]) -> Vec<u8> {
    use std::io::Write as _;
    let python = coop_testkit::repo::venv_python();
    let mut child = std::process::Command::new(python)
        .arg(coop_testkit::repo::root().join("tests/interop/escpos_reference.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input: Vec<Value> = ops.iter().map(as_json).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "escpos_reference.py failed");
    let hex = String::from_utf8(out.stdout).unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn external_every_op_matches_python_escpos_byte_for_byte() {
    let ops = vec![
        Op::Init,
        Op::CodePage,
        Op::Text("Åsa äter gröt; Ñandú, mañana ¿sí? ¡Olé! 12,50 €\n".into()),
        Op::Bold(true),
        Op::Text("Att betala\n".into()),
        Op::Bold(false),
        Op::Align(Align::Center),
        Op::Large(true),
        Op::Text("Coop\n".into()),
        Op::Large(false),
        Op::Align(Align::Right),
        Op::Align(Align::Left),
        Op::Feed(2),
        Op::Drawer { pin5: false },
        Op::Drawer { pin5: true },
        Op::Code128("3-1042".into()),
        Op::Qr("https://coop.example.org/pos/r/3-1042".into()),
        Op::Cut,
    ];
    // Each after the prefix a receipt starts with (python-escpos sends `ESC t` once per page).
    for op in ops.iter().filter(|o| !matches!(o, Op::Init | Op::CodePage)) {
        let one = [Op::Init, Op::CodePage, op.clone()];
        assert_eq!(encode(&one), reference(&one), "{op:?}");
    }
    assert_eq!(encode(&ops), reference(&ops));
}

#[test]
fn external_a_whole_receipt_matches_python_escpos() {
    let mut doc = super::printer::thirty_lines();
    doc.drawer = true;
    doc.qr = false;
    let ops = render(&doc, 42);
    assert_eq!(encode(&ops), reference(&ops));
}
