//! The reports as CSV (`;`-separated, `.` decimals, UTF-8), both for the direct downloads
//! (`/reports/*.csv`, for scripts) and for the background job a manager starts from a report's
//! page ([`REPORT_CSV`]), which shows its progress and keeps the file for a day.

use chrono::NaiveDate;
use coop_web::jobs::{JobMessage, JobOutput, Progress};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::reports::{Shrink, SupplierOrder, Velocity};
use crate::stock::{self, Valued};

/// The job kind of a report's CSV.
pub const REPORT_CSV: &str = "ims.report-csv";

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Report {
    Stock,
    Velocity,
    Reorder,
    Shrink,
}

impl Report {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stock" => Some(Report::Stock),
            "velocity" => Some(Report::Velocity),
            "reorder" => Some(Report::Reorder),
            "shrink" => Some(Report::Shrink),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Report::Stock => "stock",
            Report::Velocity => "velocity",
            Report::Reorder => "reorder",
            Report::Shrink => "shrink",
        }
    }
}

/// What the job was asked for, fixed when it was asked: "today" is the day the manager asked,
/// not the day the job ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCsv {
    pub report: Report,
    /// A location's code for the stock report; `None` for every location.
    #[serde(default)]
    pub location: Option<String>,
    /// The period of the shrink report.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    pub today: NaiveDate,
}

fn write(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    w.write_record(header).expect("csv into memory");
    for r in rows {
        w.write_record(&r).expect("csv into memory");
    }
    w.into_inner().expect("csv into memory")
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

pub fn valuation(rows: &[Valued]) -> Vec<u8> {
    write(
        &["sku", "name", "unit", "on_hand", "unit_cost", "value"],
        rows.iter().map(|r| {
            vec![
                r.sku.clone(),
                r.name.clone(),
                r.unit.as_str().to_owned(),
                r.on_hand.normalize().to_string(),
                format!("{:.2}", r.cost),
                format!("{:.2}", r.value),
            ]
        }),
    )
}

pub fn velocity(rows: &[Velocity]) -> Vec<u8> {
    write(
        &[
            "sku",
            "name",
            "unit",
            "per_day_7",
            "per_day_28",
            "per_day_90",
            "on_hand",
            "days_of_cover",
            "last_sold",
        ],
        rows.iter().map(|v| {
            vec![
                v.sku.clone(),
                v.name.clone(),
                v.unit.as_str().to_owned(),
                v.per_day(7).normalize().to_string(),
                v.per_day(28).normalize().to_string(),
                v.per_day(90).normalize().to_string(),
                v.on_hand.normalize().to_string(),
                opt(v.days_of_cover()),
                v.last_sold.map(|d| d.to_string()).unwrap_or_default(),
            ]
        }),
    )
}

pub fn reorder(orders: &[SupplierOrder]) -> Vec<u8> {
    write(
        &[
            "supplier",
            "sku",
            "name",
            "cases",
            "quantity",
            "value_at_cost",
        ],
        orders.iter().flat_map(|o| {
            o.lines.iter().map(|l| {
                vec![
                    o.supplier.clone().unwrap_or_default(),
                    l.sku.clone(),
                    l.name.clone(),
                    l.cases.normalize().to_string(),
                    l.quantity.normalize().to_string(),
                    format!("{:.2}", l.value),
                ]
            })
        }),
    )
}

pub fn shrink(rows: &[Shrink]) -> Vec<u8> {
    write(
        &[
            "sku",
            "name",
            "reason",
            "quantity",
            "value_at_cost",
            "rate_percent",
        ],
        rows.iter().map(|r| {
            vec![
                r.sku.clone(),
                r.name.clone(),
                r.reason.clone(),
                r.quantity.normalize().to_string(),
                format!("{:.2}", r.value),
                r.rate.normalize().to_string(),
            ]
        }),
    )
}

/// The file name a report's CSV is saved as.
pub fn filename(job: &ReportCsv) -> String {
    match job.report {
        Report::Stock => format!("stock-{}.csv", job.location.as_deref().unwrap_or("all")),
        Report::Velocity => format!("velocity-{}.csv", job.today),
        Report::Reorder => format!("reorder-{}.csv", job.today),
        Report::Shrink => format!(
            "shrink-{}-{}.csv",
            job.from.unwrap_or(job.today),
            job.to.unwrap_or(job.today)
        ),
    }
}

/// Runs a [`REPORT_CSV`] job: the report's rows (most of the time, reported as it goes for the
/// reports that read every product's movements), then the CSV.
pub async fn run(
    db: PgPool,
    progress: Progress,
    params: serde_json::Value,
) -> anyhow::Result<JobOutput> {
    let job: ReportCsv = serde_json::from_value(params)?;
    let tick = |done: f64| {
        let p = progress.clone();
        async move { p.set(done * 0.9).await }
    };
    let body = match job.report {
        Report::Stock => {
            let location = match job.location.as_deref() {
                None => None,
                Some(code) => Some(
                    stock::locations(&db)
                        .await?
                        .into_iter()
                        .find(|l| l.code == code)
                        .ok_or_else(|| JobMessage(format!("there is no location {code:?} now")))?
                        .location_id,
                ),
            };
            let rows = stock::valuation(&db, location).await?;
            progress.set(0.9).await;
            valuation(&rows)
        }
        Report::Velocity => {
            let rows =
                crate::reports::velocity_in_chunks(&db, job.today, crate::reports::CHUNK, tick)
                    .await?;
            velocity(&rows)
        }
        Report::Reorder => {
            let rows =
                crate::reports::velocity_in_chunks(&db, job.today, crate::reports::CHUNK, tick)
                    .await?;
            reorder(&crate::reports::reorder(&rows))
        }
        Report::Shrink => {
            let from = job.from.unwrap_or(job.today);
            let to = job.to.unwrap_or(job.today);
            let rows = crate::reports::shrink(&db, from, to).await?;
            progress.set(0.9).await;
            shrink(&rows)
        }
    };
    Ok(JobOutput {
        body,
        content_type: "text/csv; charset=utf-8".into(),
        filename: filename(&job),
    })
}
