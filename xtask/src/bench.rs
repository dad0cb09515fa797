//! `cargo xtask bench`: every benchmark the service issues name, one after another, and one
//! table of their figures, each beside the reference measured in the same run.
//!
//! Each script in `tests/bench/` builds what it measures in release, starts its own private
//! PostgreSQL cluster and prints its own report for a person. Given `COOP_BENCH_FIGURES`, it
//! (or the example it runs, through `coop_testkit::bench`) also appends one JSON line per figure
//! to that file. This reads those lines back, pairs each figure with the reference it names (in
//! the same script's run) and prints one Markdown table with the ratios. A full run also writes
//! the table and the machine it ran on into `docs/performance.md`, between two markers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::prereq;

/// The scripts, in the order they run, with what they measure and their rough length on the
/// project's 2-core machine (full / `--quick`).
const SCRIPTS: &[Script] = &[
    Script {
        name: "sso",
        what: "coop-sso: token endpoint, code exchange, userinfo, sign-in (wrk; oidc-provider)",
        minutes: (12, 4),
        quick: &[
            ("DURATION", "6"),
            ("WARMUP", "0"),
            ("ROUNDS", "1"),
            ("CODES", "20000"),
            ("CODE_CONNECTIONS", "8"),
            ("LOGIN_CONNECTIONS", "4"),
        ],
    },
    Script {
        name: "finance",
        what: "coop-finance: a year's SIE export and income statement",
        minutes: (6, 1),
        quick: &[("VOUCHERS", "5000"), ("ROUNDS", "1")],
    },
    Script {
        name: "ims",
        what: "coop-ims: look-up, the sales feed, reports, a till's snapshot",
        minutes: (10, 2),
        quick: &[
            ("PRODUCTS", "5000"),
            ("SALE_LINES", "100000"),
            ("LOOKUPS", "1000"),
            ("FEED_SALES", "1000"),
            ("PGBENCH_SECONDS", "5"),
        ],
    },
    Script {
        name: "pos",
        what: "coop-pos: the till's scan, sale, start-up and memory; central's ingest",
        minutes: (6, 3),
        quick: &[
            ("PRODUCTS", "5000"),
            ("SALES", "500"),
            ("SCANS", "500"),
            ("INGEST_SALES", "1000"),
            ("PGBENCH_SECONDS", "5"),
        ],
    },
    Script {
        name: "buyers-club",
        what: "coop-buyers-club: an order's views, purchase updates, completion, its emails",
        minutes: (5, 2),
        quick: &[
            ("MEMBERS", "30"),
            ("PRODUCTS", "10"),
            ("RUN_SECONDS", "3"),
            ("PGBENCH_SECONDS", "5"),
        ],
    },
    Script {
        name: "devices",
        what: "the till's devices: card payments (ZVT, the bridge), a printed receipt",
        minutes: (1, 1),
        quick: &[("RUNS", "20")],
    },
];

struct Script {
    name: &'static str,
    what: &'static str,
    minutes: (u32, u32),
    quick: &'static [(&'static str, &'static str)],
}

const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
const END: &str = "<!-- cargo xtask bench: end -->";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut quick = false;
    let mut docs = true;
    let mut chosen = Vec::new();
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            "--no-docs" => docs = false,
            name => match SCRIPTS.iter().find(|s| s.name == name) {
                Some(s) => chosen.push(s),
                None => bail!(
                    "unknown benchmark or option {name}; the benchmarks are: {}",
                    SCRIPTS.iter().map(|s| s.name).collect::<Vec<_>>().join(" ")
                ),
            },
        }
    }
    let all = chosen.is_empty() || chosen.len() == SCRIPTS.len();
    if chosen.is_empty() {
        chosen = SCRIPTS.iter().collect();
    }
    // Only a full run of every benchmark stands for the suite in the docs.
    let write_docs = docs && all && !quick;

    let root = prereq::repo_root();
    let pg = prereq::ensure_postgres()?;
    for (tool, package) in [
        ("bc", "bc"),
        ("python3", "python3"),
        ("time", "time"),
        ("npm", "npm"),
    ] {
        let present = if tool == "time" {
            Path::new("/usr/bin/time").is_file()
        } else {
            prereq::on_path(tool)
        };
        if !present {
            prereq::apt_install(&[package], "the benchmarks")?;
        }
    }

    // The scripts run in the checkout: a relative CARGO_TARGET_DIR is taken from where this
    // was started, as cargo takes it.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || root.join("target"),
        |t| std::env::current_dir().unwrap_or_default().join(t),
    );
    let stamp = utc_now("%Y%m%d-%H%M%S")?;
    let out = target.join("bench").join(&stamp);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let machine = machine(&pg, &root);
    let total: u32 = chosen
        .iter()
        .map(|s| if quick { s.minutes.1 } else { s.minutes.0 })
        .sum();
    eprintln!(
        "xtask bench: {} benchmark{}{}, about {total} min on a 2-core machine once built (the first run builds in release); each script's own report and log go to {}",
        chosen.len(),
        if chosen.len() == 1 { "" } else { "s" },
        if quick { " (--quick: small sizes, one round; figures not comparable)" } else { "" },
        out.display()
    );

    let started = utc_now("%Y-%m-%d %H:%M UTC")?;
    let mut runs = Vec::new();
    for s in &chosen {
        let figures = out.join(format!("{}.jsonl", s.name));
        let report = out.join(format!("{}.md", s.name));
        let log = out.join(format!("{}.log", s.name));
        eprintln!("xtask bench: {} — {}", s.name, s.what);
        let t = Instant::now();
        let mut cmd = Command::new("bash");
        cmd.arg(root.join("tests/bench").join(format!("{}.sh", s.name)))
            .current_dir(&root)
            .env("COOP_BENCH_FIGURES", &figures)
            .env("COOP_PG_BIN", &pg)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&report)?)
            .stderr(std::fs::File::create(&log)?);
        if quick {
            cmd.envs(s.quick.iter().copied());
        }
        let status = cmd
            .status()
            .with_context(|| format!("starting tests/bench/{}.sh", s.name))?;
        let secs = t.elapsed().as_secs();
        let text = std::fs::read_to_string(&figures).unwrap_or_default();
        let parsed = parse(&text);
        let failure = match (&parsed, status.success()) {
            (Err(e), _) => Some(format!("its figures do not read: {e:#}")),
            (Ok(_), false) => Some(format!("{status}; the end of its log: {}", tail(&log, 3))),
            (Ok(f), true) if f.is_empty() => Some("it recorded no figure".into()),
            (Ok(_), true) => None,
        };
        match &failure {
            None => eprintln!(
                "xtask bench: {} done in {}:{:02}",
                s.name,
                secs / 60,
                secs % 60
            ),
            Some(why) => eprintln!("xtask bench: {} FAILED after {} s: {why}", s.name, secs),
        }
        runs.push(Run {
            name: s.name,
            figures: parsed.unwrap_or_default(),
            failure,
            secs,
        });
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "Run {started} with `cargo xtask bench{}`.",
        if quick { " --quick" } else { "" }
    );
    let _ = writeln!(table);
    let _ = writeln!(table, "{machine}");
    let _ = writeln!(table);
    table.push_str(&render(&runs));
    std::fs::write(out.join("table.md"), &table)?;
    println!("{table}");

    let failed: Vec<_> = runs
        .iter()
        .filter(|r| r.failure.is_some())
        .map(|r| r.name)
        .collect();
    if write_docs && failed.is_empty() {
        let path = root.join("docs/performance.md");
        let doc = std::fs::read_to_string(&path)?;
        std::fs::write(&path, replace_section(&doc, &table)?)?;
        eprintln!("xtask bench: the table is now in {}", path.display());
    } else if write_docs {
        eprintln!("xtask bench: docs/performance.md left as it was, since a benchmark failed");
    }
    if !failed.is_empty() {
        bail!(
            "benchmarks failed: {} (their logs are in {})",
            failed.join(", "),
            out.display()
        );
    }
    Ok(())
}

/// One script's run.
struct Run {
    name: &'static str,
    figures: Vec<Figure>,
    failure: Option<String>,
    secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Figure {
    service: String,
    id: String,
    what: String,
    /// Every value recorded under this id (a figure measured in rounds), in order.
    values: Vec<f64>,
    unit: String,
    higher_is_better: bool,
    reference: Option<String>,
}

impl Figure {
    /// The median of the values recorded under this id.
    fn value(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            f64::midpoint(v[n / 2 - 1], v[n / 2])
        }
    }
}

/// Reads a script's figure lines. Lines recorded under one id are rounds of the same figure;
/// they must agree on everything but the value. A malformed line is an error, not skipped: a
/// benchmark that records garbage must fail loudly.
fn parse(text: &str) -> anyhow::Result<Vec<Figure>> {
    let mut out: Vec<Figure> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        let field = |k: &str| -> anyhow::Result<String> {
            v[k].as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .with_context(|| format!("line {}: no {k}", n + 1))
        };
        let value = v["value"]
            .as_f64()
            .filter(|x| x.is_finite())
            .with_context(|| format!("line {}: no value", n + 1))?;
        let higher_is_better = match field("better")?.as_str() {
            "higher" => true,
            "lower" => false,
            other => bail!("line {}: better is {other}, not higher or lower", n + 1),
        };
        let f = Figure {
            service: field("service")?,
            id: field("id")?,
            what: field("what")?,
            values: vec![value],
            unit: field("unit")?,
            higher_is_better,
            reference: v["reference"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        match out.iter_mut().find(|o| o.id == f.id) {
            Some(o) => {
                if o.unit != f.unit
                    || o.reference != f.reference
                    || o.higher_is_better != f.higher_is_better
                {
                    bail!(
                        "line {}: {} recorded again with another unit, direction or reference",
                        n + 1,
                        f.id
                    );
                }
                o.values.push(value);
            }
            None => out.push(f),
        }
    }
    Ok(out)
}

/// One Markdown table of every run's figures. A figure that another names as its reference is
/// shown beside that figure, not on a row of its own; PostgreSQL's (pgbench, psql) are there
/// only as references, so one that no figure names is not shown.
fn render(runs: &[Run]) -> String {
    let mut t = String::from(
        "| benchmark | service | what | figure | reference, measured in the same run | figure ÷ reference |\n|---|---|---|---:|---|---:|\n",
    );
    for run in runs {
        let by_id: BTreeMap<&str, &Figure> =
            run.figures.iter().map(|f| (f.id.as_str(), f)).collect();
        let referenced: Vec<&str> = run
            .figures
            .iter()
            .filter_map(|f| f.reference.as_deref())
            .collect();
        for f in run
            .figures
            .iter()
            .filter(|f| !referenced.contains(&f.id.as_str()) && f.service != "PostgreSQL")
        {
            let (reference, ratio) = match f.reference.as_deref() {
                None => ("–".to_owned(), "–".to_owned()),
                Some(id) => match by_id.get(id) {
                    None => (format!("{id}: not measured in this run"), "–".to_owned()),
                    Some(r) => (
                        format!("{}: {} {}", r.what, number(r.value()), r.unit),
                        ratio(f, r),
                    ),
                },
            };
            let rounds = if f.values.len() > 1 {
                format!(" (median of {})", f.values.len())
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} {}{rounds} | {} | {} |",
                run.name,
                cell(&f.service),
                cell(&f.what),
                number(f.value()),
                f.unit,
                cell(&reference),
                ratio,
            );
        }
        if let Some(why) = &run.failure {
            let _ = writeln!(t, "| {} | – | **FAILED** | – | – | – |", run.name);
            let _ = writeln!(t, "|  |  | {} |  |  |  |", cell(why));
        }
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "A ratio above 1 means the figure is the larger: for a rate (req/s, tps) that is faster than the reference, for a time or a size slower or larger. Where the units differ the ratio says how much of one per the other (e.g. sales per pgbench transaction)."
    );
    let _ = writeln!(t);
    let secs: Vec<String> = runs
        .iter()
        .map(|r| format!("{} {}:{:02}", r.name, r.secs / 60, r.secs % 60))
        .collect();
    let _ = writeln!(t, "Time per benchmark (min:s): {}.", secs.join(", "));
    t
}

fn ratio(f: &Figure, r: &Figure) -> String {
    let reference = r.value();
    if reference == 0.0 {
        return "–".into();
    }
    let x = f.value() / reference;
    let shown = if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    if f.unit == r.unit {
        format!("{shown}×")
    } else {
        format!("{shown} ({} ÷ {})", f.unit, r.unit)
    }
}

/// 14605.2 → "14,605"; 52.94 → "52.9"; 0.4712 → "0.471".
fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        #[allow(clippy::cast_possible_truncation)]
        let n = x.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut s = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                s.push(',');
            }
            s.push(c);
        }
        if n < 0 {
            s.insert(0, '-');
        }
        s
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Text safe in a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `doc` with everything between the two markers replaced by `table`.
fn replace_section(doc: &str, table: &str) -> anyhow::Result<String> {
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        bail!("docs/performance.md has no `{BEGIN}` … `{END}` section to write the table into");
    };
    if e < b {
        bail!("docs/performance.md: `{END}` comes before `{BEGIN}`");
    }
    Ok(format!("{}{BEGIN}\n{table}{}", &doc[..b], &doc[e..]))
}

/// The machine, as one line: what a reader needs to compare a figure with their own.
fn machine(pg: &Path, root: &Path) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{} GiB", (kb + 524_288) / 1_048_576),
        );
    let output = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map_or_else(
                || "unknown".into(),
                |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            )
    };
    let kernel = output(Command::new("uname").arg("-r"));
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let postgres = output(Command::new(pg.join("postgres")).arg("--version"));
    let node = output(Command::new("node").arg("--version"));
    let rev = output(
        Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(root),
    );
    let dirty = output(
        Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(root),
    );
    let dirty = if dirty.is_empty() {
        ""
    } else {
        " with uncommitted changes"
    };
    format!(
        "Machine: {cores} cores ({model}), {mem} RAM, Linux {kernel}; load average {load} before the run. Cooperage {rev}{dirty}, release builds; {postgres} (a private cluster per benchmark, default settings, fsync on); node {node}. Every program shares the same cores with its load generator."
    )
}

fn utc_now(format: &str) -> anyhow::Result<String> {
    let o = Command::new("date")
        .args(["-u", &format!("+{format}")])
        .output()?;
    anyhow::ensure!(o.status.success(), "date failed");
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, value: f64, unit: &str, better: &str, reference: Option<&str>) -> String {
        serde_json::json!({ "service": "svc", "id": id, "what": format!("what {id}"),
            "value": value, "unit": unit, "better": better, "reference": reference })
        .to_string()
    }

    fn run(lines: &[String]) -> Run {
        Run {
            name: "x",
            figures: parse(&lines.join("\n")).unwrap(),
            failure: None,
            secs: 61,
        }
    }

    #[test]
    fn a_figure_stands_beside_its_reference_with_the_ratio() {
        let r = run(&[
            line("ingest", 899.0, "sales/s", "higher", Some("pg.tps")),
            line("pg.tps", 1260.0, "tps", "higher", None),
            line("cc", 14605.0, "req/s", "higher", Some("op")),
            line("op", 2383.0, "req/s", "higher", None),
        ]);
        let mut r = r;
        r.figures.push(Figure {
            service: "PostgreSQL".into(),
            id: "pg.latency".into(),
            what: "unnamed pgbench latency".into(),
            values: vec![1.0],
            unit: "ms".into(),
            higher_is_better: false,
            reference: None,
        });
        let t = render(&[r]);
        assert!(t.contains("| x | svc | what ingest | 899 sales/s | what pg.tps: 1,260 tps | 0.71 (sales/s ÷ tps) |"), "{t}");
        assert!(
            t.contains("| 14,605 req/s | what op: 2,383 req/s | 6.13× |"),
            "{t}"
        );
        // A reference has no row of its own, and PostgreSQL's figures are only references.
        assert!(!t.contains("| what pg.tps |"), "{t}");
        assert!(!t.contains("unnamed pgbench latency"), "{t}");
        assert!(t.contains("x 1:01"), "{t}");
    }

    #[test]
    fn rounds_of_one_figure_show_their_median() {
        let r = run(&[
            line("v", 420.0, "ms", "lower", None),
            line("v", 364.0, "ms", "lower", None),
            line("v", 375.0, "ms", "lower", None),
        ]);
        assert_eq!(r.figures.len(), 1);
        assert!((r.figures[0].value() - 375.0).abs() < 1e-9);
        assert!(render(&[r]).contains("| 375 ms (median of 3) | – | – |"));
        let even = run(&[
            line("v", 1.0, "s", "lower", None),
            line("v", 2.0, "s", "lower", None),
        ]);
        assert!((even.figures[0].value() - 1.5).abs() < 1e-9);
    }

    #[test]
    fn a_missing_reference_or_a_failed_script_is_shown_not_hidden() {
        let mut r = run(&[line("a", 1.5, "ms", "lower", Some("gone"))]);
        r.failure = Some("exit status: 1; a | b".into());
        let t = render(&[r]);
        assert!(t.contains("gone: not measured in this run | – |"), "{t}");
        assert!(t.contains("| x | – | **FAILED** |"), "{t}");
        assert!(t.contains("exit status: 1; a \\| b"), "{t}");
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(parse("not json").is_err());
        assert!(parse(&line("a", 1.0, "ms", "sideways", None)).is_err());
        assert!(parse(
            r#"{"service":"s","id":"a","what":"w","value":"fast","unit":"ms","better":"lower"}"#
        )
        .is_err());
        assert!(
            parse(r#"{"service":"s","id":"a","what":"w","value":1,"better":"lower"}"#).is_err()
        );
        let twice = [
            line("a", 1.0, "ms", "lower", None),
            line("a", 2.0, "s", "lower", None),
        ];
        assert!(parse(&twice.join("\n")).is_err());
        assert_eq!(parse("\n\n").unwrap(), Vec::new());
    }

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(number(14605.2), "14,605");
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(52.94), "52.9");
        assert_eq!(number(5.791), "5.79");
        assert_eq!(number(0.4712), "0.471");
    }

    #[test]
    fn the_docs_section_is_replaced_and_nothing_else() {
        let doc =
            format!("# Performance\n\nintro\n\n{BEGIN}\nold table\n{END}\n\n## Earlier\nkept\n");
        let new = replace_section(&doc, "new table\n").unwrap();
        assert_eq!(
            new,
            format!("# Performance\n\nintro\n\n{BEGIN}\nnew table\n{END}\n\n## Earlier\nkept\n")
        );
        assert!(replace_section("no markers", "t").is_err());
        assert!(replace_section(&format!("{END}\n{BEGIN}"), "t").is_err());
    }
}
