//! The till's own web UI, served on the till to its kiosk browser: unlock with a PIN, scan or
//! type codes, change quantities, void lines, attach a member, park and resume, pay with one or
//! more tenders, the receipt, and the last sales for a reprint. Every action is a plain form
//! (with the session's CSRF token) answered by a redirect, so it works with a keyboard, a touch
//! screen or a barcode scanner acting as a keyboard, and without JavaScript; the scan field has
//! the focus on every page load. What a refused action says is shown on the next page.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use coop_web::session::{Session, SessionConfig};
use coop_web::templates::{PageContext, TemplateSource, Templates};
use coop_web::{CsrfForm, FtlSource, Lang, Translations};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::checkout::{self, CheckoutError, Completion, TillSettings};
use crate::pin::{self, Throttle};
use crate::store::Store;
use crate::tender::Given;

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-pos-till/en/till.ftl",
        text: include_str!("../locales/en/till.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-pos-till/sv/till.ftl",
        text: include_str!("../locales/sv/till.ftl"),
    },
];

pub const TEMPLATES: &[TemplateSource] = &[
    TemplateSource {
        name: "till_unlock.html",
        text: include_str!("../templates/till_unlock.html"),
    },
    TemplateSource {
        name: "till_sale.html",
        text: include_str!("../templates/till_sale.html"),
    },
    TemplateSource {
        name: "till_receipt.html",
        text: include_str!("../templates/till_receipt.html"),
    },
    TemplateSource {
        name: "till_sales.html",
        text: include_str!("../templates/till_sales.html"),
    },
    TemplateSource {
        name: "till_shift.html",
        text: include_str!("../templates/till_shift.html"),
    },
    TemplateSource {
        name: "till_clock.html",
        text: include_str!("../templates/till_clock.html"),
    },
    TemplateSource {
        name: "till_search.html",
        text: include_str!("../templates/till_search.html"),
    },
    TemplateSource {
        name: "till_return.html",
        text: include_str!("../templates/till_return.html"),
    },
    TemplateSource {
        name: "till_display.html",
        text: include_str!("../templates/till_display.html"),
    },
];

/// What every handler gets.
#[derive(Clone)]
pub struct TillApp {
    pub store: Store,
    pub settings: Arc<TillSettings>,
    pub templates: Templates,
    pub till_id: Arc<String>,
    pub default_lang: Lang,
    pub languages: Arc<Vec<Lang>>,
    pub throttle: Arc<Throttle>,
    /// The card terminal (the simulator until a real driver is configured).
    pub terminal: Arc<dyn crate::terminal::Terminal>,
    /// The member wallet online, through central; without it the wallet pays offline only.
    pub wallet: Option<Arc<dyn crate::wallet::Wallet>>,
    /// The printer, drawer and scale.
    pub devices: Arc<crate::devices::Devices>,
    /// What the customer display shows: the basket of the cashier at the till, or the sale
    /// just made.
    pub display: Arc<std::sync::Mutex<Display>>,
    /// One end of the terminal's day at a time (a double click asks the terminal once).
    pub terminal_day: Arc<tokio::sync::Mutex<()>>,
}

/// What the customer display follows.
#[derive(Debug, Clone, Default)]
pub struct Display {
    /// The cashier whose basket is shown.
    pub cashier: Option<String>,
    /// The sale just made (its total, tenders and change), until the next scan or a minute.
    pub sale: Option<(Uuid, chrono::DateTime<Utc>)>,
}

impl std::fmt::Debug for TillApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TillApp")
            .field("till_id", &self.till_id)
            .finish_non_exhaustive()
    }
}

impl TillApp {
    pub fn new(
        store: Store,
        settings: TillSettings,
        till_id: &str,
        default_lang: Lang,
    ) -> anyhow::Result<TillApp> {
        let translations = Translations::new(TRANSLATIONS, default_lang)?;
        let tz = settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let currency = settings.currency().map_err(|e| anyhow::anyhow!("{e}"))?;
        let templates = Templates::new(TEMPLATES, translations)?.localised(tz, currency);
        Ok(TillApp {
            store,
            settings: Arc::new(settings),
            templates,
            till_id: Arc::new(till_id.to_owned()),
            default_lang,
            languages: Arc::new(vec![Lang::En, Lang::Sv]),
            throttle: Arc::new(Throttle::default()),
            terminal: Arc::new(crate::terminal::Simulator::default()),
            wallet: None,
            devices: Arc::new(crate::devices::Devices::none()),
            display: Arc::default(),
            terminal_day: Arc::default(),
        })
    }

    fn lang(&self, session: &Session) -> Lang {
        session
            .get::<String>("lang")
            .and_then(|l| Lang::parse(&l).ok())
            .unwrap_or(self.default_lang)
    }

    fn page(&self, session: &Session, path: &str) -> PageContext {
        let mut p = PageContext::new(
            self.lang(session),
            &self.languages,
            &self.settings.org_name,
            "/",
            "/",
            path,
        );
        p.csrf_token = Some(session.csrf_token());
        p
    }

    fn render(
        &self,
        session: &Session,
        path: &str,
        name: &str,
        data: &serde_json::Value,
    ) -> Response {
        let page = self.page(session, path);
        // A device's problem shows on every page until the device works again.
        let mut data = data.clone();
        if let (Some(p), Some(o)) = (self.devices.problem(), data.as_object_mut()) {
            o.insert("device_problem".into(), json!(p));
        }
        match self.templates.render(name, &page, &data) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "rendering {name}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the till could not show this page",
                )
                    .into_response()
            }
        }
    }

    fn t(&self, session: &Session, key: &str) -> String {
        self.templates.translations().text(self.lang(session), key)
    }

    /// A return's refusal in the cashier's language.
    fn return_refusal(&self, session: &Session, e: &crate::returns::ReturnError) -> String {
        use crate::returns::ReturnError as R;
        use coop_web::i18n::FluentValue as V;
        let lang = self.lang(session);
        let tz = self.settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let format = coop_web::format::Format::new(lang, tz);
        let money = |d: Decimal| -> V<'static> {
            match self.settings.currency() {
                Ok(c) => V::from(format.money(coop_domain::Money::new(d, c))),
                Err(_) => V::from(d.to_string()),
            }
        };
        let n = |line: usize| V::from(line.to_string());
        let (key, args): (&str, Vec<(&str, V<'_>)>) = match e {
            R::NoSale(_) | R::NotASale => ("till-return-no-sale", vec![]),
            R::Nothing => ("till-return-nothing", vec![]),
            R::TooMuch { line, left } => (
                "till-return-too-much",
                vec![
                    ("line", n(*line)),
                    ("left", V::from(left.normalize().to_string())),
                ],
            ),
            R::Quantity(line, _) => ("till-return-quantity", vec![("line", n(*line))]),
            R::Tender(_) => ("till-return-tender", vec![]),
            R::NoWallet => ("till-return-no-wallet", vec![]),
            R::NeedsManager(a) => ("till-return-needs-manager", vec![("amount", money(*a))]),
            R::Checkout(c) => return self.refusal(session, c),
        };
        self.templates.translations().format(lang, key, &args)
    }

    /// A refusal in the cashier's language.
    fn refusal(&self, session: &Session, e: &CheckoutError) -> String {
        use crate::checkout::QuantityProblem as Q;
        use crate::tender::TenderError as T;
        use coop_domain::CodeError as C;
        use coop_web::i18n::FluentValue as V;
        let lang = self.lang(session);
        let tz = self.settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let format = coop_web::format::Format::new(lang, tz);
        let money = |d: Decimal| -> V<'static> {
            match self.settings.currency() {
                Ok(c) => V::from(format.money(coop_domain::Money::new(d, c))),
                Err(_) => V::from(d.to_string()),
            }
        };
        let s = |x: &str| V::from(x.to_owned());
        let (key, args): (&str, Vec<(&str, V<'_>)>) = match e {
            CheckoutError::Unknown(code) => ("till-error-unknown", vec![("code", s(code))]),
            CheckoutError::CodeLength => ("till-error-code-length", vec![]),
            CheckoutError::Code(C::CheckDigit { found, expected }) => (
                "till-error-check-digit",
                vec![("found", V::from(*found)), ("expected", V::from(*expected))],
            ),
            CheckoutError::Code(C::PriceCheckDigit { .. }) => {
                ("till-error-price-check-digit", vec![])
            }
            CheckoutError::Code(C::ScanLength { len }) => {
                ("till-error-scan-length", vec![("len", V::from(*len))])
            }
            CheckoutError::Code(other) => {
                ("till-error-code", vec![("detail", s(&other.to_string()))])
            }
            CheckoutError::LabelMismatch(name) => ("till-error-label", vec![("name", s(name))]),
            CheckoutError::Inactive(name) => ("till-error-inactive", vec![("name", s(name))]),
            CheckoutError::NeedsWeight(name) => {
                ("till-error-needs-weight", vec![("name", s(name))])
            }
            CheckoutError::Quantity(Q::NotPositive) => ("till-error-quantity-not-positive", vec![]),
            CheckoutError::Quantity(Q::TooLarge) => ("till-error-quantity-too-large", vec![]),
            CheckoutError::Quantity(Q::Whole) => ("till-error-quantity-whole", vec![]),
            CheckoutError::Quantity(Q::Grams) => ("till-error-quantity-grams", vec![]),
            CheckoutError::Empty => ("till-error-empty", vec![]),
            CheckoutError::MemberOnly => ("till-error-member-only", vec![]),
            CheckoutError::OfflineWalletLimit(left) => {
                ("till-error-wallet-limit", vec![("left", money(*left))])
            }
            CheckoutError::WalletWithoutMember => ("till-error-wallet-member", vec![]),
            CheckoutError::WalletInsufficient(available) => (
                "till-error-wallet-insufficient",
                vec![("available", money(*available))],
            ),
            CheckoutError::WalletInactive => ("till-error-wallet-inactive", vec![]),
            CheckoutError::Tender(T::Short { missing }) => {
                ("till-error-short", vec![("missing", money(*missing))])
            }
            CheckoutError::Tender(T::NonCashOver { over }) => {
                ("till-error-non-cash-over", vec![("over", money(*over))])
            }
            CheckoutError::Tender(T::RestrictedOverEligible { tender, eligible }) => (
                "till-error-restricted",
                vec![("tender", s(tender)), ("eligible", money(*eligible))],
            ),
            CheckoutError::Tender(T::UnknownTender(t)) => {
                ("till-error-unknown-tender", vec![("tender", s(t))])
            }
            CheckoutError::Tender(T::BadAmount) => ("till-error-bad-amount", vec![]),
            CheckoutError::Card(crate::terminal::Outcome::Declined { reason }) => {
                ("till-error-card-declined", vec![("reason", s(reason))])
            }
            CheckoutError::Card(crate::terminal::Outcome::Cancelled) => {
                ("till-error-card-cancelled", vec![])
            }
            CheckoutError::Card(_) => ("till-error-card-unknown", vec![]),
            CheckoutError::Tender(T::RefundMismatch { due, given }) => (
                "till-error-refund",
                vec![("due", money(*due)), ("given", money(*given))],
            ),
            other => {
                tracing::error!(error = %other, "a checkout failed");
                ("till-error-generic", vec![])
            }
        };
        self.templates.translations().format(lang, key, &args)
    }
}

/// The till's routes, with the session layer.
pub fn router(app: TillApp, session: Arc<SessionConfig>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/unlock", post(unlock))
        .route("/lock", post(lock))
        .route("/scan", post(scan))
        .route("/open-price", post(open_price))
        .route("/search", get(search))
        .route("/lines/{n}", post(set_quantity))
        .route("/lines/{n}/void", post(void))
        .route("/member", post(member))
        .route("/pay", post(pay))
        .route("/park", post(park))
        .route("/parked/{id}/resume", post(resume))
        .route("/sales", get(sales))
        .route("/clock", get(clock_page).post(clock_post))
        .route("/shift", get(shift_page))
        .route("/shift/open", post(shift_open))
        .route("/shift/cash", post(shift_cash))
        .route("/shift/close", post(shift_close))
        .route("/shifts/{id}", get(shift_report))
        .route("/receipts/{id}", get(receipt))
        .route("/receipts/{id}/print", post(reprint))
        .route("/shifts/{id}/print", post(print_shift))
        .route("/shifts/{id}/terminal-day", post(terminal_day))
        .route("/drawer", post(no_sale))
        .route("/display", get(display))
        .route("/returns/{id}", get(return_page).post(return_post))
        .route("/static/kit.css", get(kit_css))
        .route("/static/theme.css", get(theme_css))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            session,
            coop_web::session::session_layer,
        ))
}

async fn kit_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        coop_web::templates::KIT_CSS,
    )
}

async fn theme_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], "")
}

/// The unlocked cashier, if any.
fn cashier(session: &Session) -> Option<(String, String)> {
    session.get::<(String, String)>("cashier")
}

fn flash(session: &Session, message: &str) {
    session.insert("flash", &message.to_owned());
}

fn take_flash(session: &Session) -> Option<String> {
    let f = session.get::<String>("flash");
    if f.is_some() {
        session.remove("flash");
    }
    f
}

fn home_redirect() -> Response {
    Redirect::to("/").into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /`: the PIN pad when locked, the sale when unlocked.
async fn home(
    State(app): State<TillApp>,
    session: Session,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Some(l) = q.lang.as_deref().and_then(|l| Lang::parse(l).ok()) {
        session.insert("lang", &l.code().to_owned());
    }
    let message = take_flash(&session);
    let unknown_code = session.get::<String>("unknown_code");
    if unknown_code.is_some() {
        session.remove("unknown_code");
    }
    let Some((sub, name)) = cashier(&session) else {
        let cashiers = app.store.cashiers().await.unwrap_or_default();
        let list: Vec<_> = cashiers
            .iter()
            .map(|c| json!({ "sub": c.sub, "name": c.name }))
            .collect();
        return app.render(
            &session,
            "/",
            "till_unlock.html",
            &json!({ "cashiers": list, "message": message }),
        );
    };
    app.display
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .cashier = Some(sub.clone());
    let basket = match app.store.open_basket(&sub).await {
        Ok(b) => b,
        Err(e) => return failure(&e.to_string()),
    };
    let day = app.settings.business_day(Utc::now());
    // For the open-price form, shown only after a code was not found.
    let (vat_classes, managers) = if unknown_code.is_some() {
        let classes: Vec<_> = app
            .settings
            .vat
            .classes()
            .filter_map(|(id, _)| {
                let rate = app.settings.vat.rate_on(id, day).ok()?;
                Some(json!({ "id": id.as_str(), "percent": rate.percent() }))
            })
            .collect();
        let managers: Vec<_> = app
            .store
            .cashiers()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.manager)
            .map(|c| json!({ "sub": c.sub, "name": c.name }))
            .collect();
        (classes, managers)
    } else {
        (Vec::new(), Vec::new())
    };
    let priced = match checkout::price_basket(&app.store, &app.settings, basket, day).await {
        Ok(p) => p,
        Err(e) => return failure(&e.to_string()),
    };
    let lang = app.lang(&session);
    let lines: Vec<_> = priced
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let amount = priced.priced.as_ref().map(|p| p.lines[i].amount.amount());
            let member_price = priced.priced.as_ref().is_some_and(|p| p.lines[i].member_price_applied);
            json!({
                "line_no": l.line_no,
                "name": l.pack_name.clone().unwrap_or_else(|| l.product.name_in(lang.code()).to_owned()),
                "quantity": l.quantity,
                "unit": l.unit.as_str(),
                "unit_price": priced.priced.as_ref().map(|p| p.lines[i].unit_price),
                "amount": amount,
                "member_price": member_price,
                "fixed": l.input.fixed_amount.is_some(),
            })
        })
        .collect();
    let parked = app.store.parked().await.unwrap_or_default();
    let parked: Vec<_> = parked
        .iter()
        .map(|(id, at, n)| json!({ "id": id, "at": at, "lines": n }))
        .collect();
    let (pending, since) = app.store.pending_count().await.unwrap_or((0, None));
    let shift_open = app.store.open_shift().await.ok().flatten().is_some();
    let totals = priced.priced.as_ref().map(|p| {
        json!({
            "total": p.total.amount(),
            "vat": p.vat.amount(),
            "by_rate": p.by_rate.iter().map(|r| json!({ "rate": r.rate.percent(), "vat": r.vat.amount(), "gross": r.gross.amount() })).collect::<Vec<_>>(),
        })
    });
    app.render(
        &session,
        "/",
        "till_sale.html",
        &json!({
            "cashier": name,
            "lines": lines,
            "totals": totals,
            "member": priced.member,
            "member_only": app.settings.member_only,
            "tenders": app.settings.tenders.iter().map(|t| json!({ "id": t.id, "class": t.kind.class() })).collect::<Vec<_>>(),
            "parked": parked,
            "pending": pending,
            "pending_since": since,
            "shift_open": shift_open,
            "message": message,
            "unknown_code": unknown_code,
            "vat_classes": vat_classes,
            "managers": managers,
        }),
    )
}

fn failure(message: &str) -> Response {
    tracing::error!(message, "the till failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the till could not do that; see its log",
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    cashier: String,
    #[serde(default)]
    pin: String,
}

/// `POST /unlock`: a cashier and their PIN; five wrong tries lock that cashier out a minute.
async fn unlock(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<UnlockForm>,
) -> Response {
    match check_pin(&app, &form.cashier, &form.pin, false).await {
        Ok(c) => {
            session.insert("cashier", &(c.sub.clone(), c.name.clone()));
            tracing::info!(cashier = %c.sub, "till unlocked");
        }
        Err(PinRefusal::Locked(left)) => {
            let m = app.t(&session, "till-unlock-locked");
            flash(&session, &format!("{m} ({} s)", left.as_secs() + 1));
        }
        Err(PinRefusal::Wrong) => flash(&session, &app.t(&session, "till-unlock-wrong")),
    }
    home_redirect()
}

#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

async fn lock(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    session.remove("cashier");
    *app.display
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Display::default();
    home_redirect()
}

#[derive(Debug, Default, Deserialize)]
pub struct ScanForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    quantity: String,
    /// For weighed goods: the container's weight in kg, taken off the weight.
    #[serde(default)]
    tare: String,
}

fn parse_quantity(s: &str) -> Result<Option<Decimal>, ()> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Decimal>().map(Some).map_err(|_| ())
}

/// The cashier's open basket, or a redirect to the PIN pad.
async fn basket_of(app: &TillApp, session: &Session) -> Result<Uuid, Response> {
    let Some((sub, _)) = cashier(session) else {
        return Err(home_redirect());
    };
    app.store
        .open_basket(&sub)
        .await
        .map_err(|e| failure(&e.to_string()))
}

/// `POST /scan`: a code from the scanner or the keypad, with a quantity or weight if typed.
async fn scan(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<ScanForm>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    {
        let mut d = app
            .display
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        d.sale = None;
        d.cashier = cashier(&session).map(|(sub, _)| sub);
    }
    let (Ok(mut quantity), Ok(tare)) = (parse_quantity(&form.quantity), parse_quantity(&form.tare))
    else {
        flash(&session, &app.t(&session, "till-quantity-not-a-number"));
        return home_redirect();
    };
    // Goods sold by weight with no weight typed: the scale's, once it is at rest.
    if quantity.is_none() {
        if let Some(scale) = &app.devices.scale {
            let weighed = checkout::resolve(&app.store, &app.settings, &form.code)
                .await
                .is_ok_and(|r| {
                    r.found.pack.is_none() && r.found.product.unit != crate::pricing::SaleUnit::Each
                });
            if weighed {
                match coop_pos_devices::scale::weigh(
                    scale.as_ref(),
                    Decimal::ZERO,
                    std::time::Duration::from_secs(3),
                )
                .await
                {
                    Ok(gross) => quantity = Some(gross),
                    Err(e) => {
                        flash(&session, &app.t(&session, scale_refusal(&e)));
                        return home_redirect();
                    }
                }
            }
        }
    }
    // A tare is for weighed goods, off a weight typed or read from the scale; what is left must
    // be above zero.
    if let Some(tare) = tare.filter(|t| !t.is_zero()) {
        let weighed = checkout::resolve(&app.store, &app.settings, &form.code)
            .await
            .is_ok_and(|r| {
                r.found.pack.is_none() && r.found.product.unit != crate::pricing::SaleUnit::Each
            });
        let Some(gross) = quantity.filter(|_| weighed) else {
            flash(&session, &app.t(&session, "till-tare-weighed-only"));
            return home_redirect();
        };
        let Some(net) = gross
            .checked_sub(tare)
            .filter(|n| !tare.is_sign_negative() && *n > Decimal::ZERO)
        else {
            flash(&session, &app.t(&session, "till-tare-too-much"));
            return home_redirect();
        };
        quantity = Some(net);
    }
    if let Err(e) = checkout::scan(&app.store, &app.settings, basket, &form.code, quantity).await {
        // Words, not a code: look for them among the products' names.
        let code = form.code.trim();
        if matches!(e, CheckoutError::Unknown(_))
            && !code.is_empty()
            && !code.bytes().all(|b| b.is_ascii_digit())
        {
            return Redirect::to(&format!("/search?q={}", urlencode(code))).into_response();
        }
        flash(&session, &app.refusal(&session, &e));
        // A code the catalogue does not know may be sold at an open price, with a manager.
        if let CheckoutError::Unknown(code) = &e {
            session.insert("unknown_code", code);
        }
    }
    home_redirect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /search?q=`: products whose name or SKU holds the words, each to add with a quantity.
async fn search(
    State(app): State<TillApp>,
    session: Session,
    Query(q): Query<SearchQuery>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let q: String = q.q.trim().chars().take(64).collect();
    let lang = app.lang(&session);
    let found = if q.chars().count() >= 2 {
        app.store.search(&q, 30).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let day = app.settings.business_day(Utc::now());
    let rows: Vec<_> = found
        .iter()
        .map(|p| {
            let (shelf, member) =
                crate::pricing::prices_on(p.shelf_price, p.member_price, &p.price_changes, day);
            json!({
                "sku": p.sku, "name": p.name_in(lang.code()), "unit": p.unit.as_str(),
                "shelf_price": shelf, "member_price": member,
            })
        })
        .collect();
    app.render(
        &session,
        "/search",
        "till_search.html",
        &json!({ "q": q, "rows": rows, "searched": q.chars().count() >= 2 }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct OpenPriceForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    vat_class: String,
    #[serde(default)]
    manager: String,
    #[serde(default)]
    manager_pin: String,
}

/// `POST /open-price`: an item the catalogue does not know, at the price typed, in a VAT
/// class, allowed by a manager's PIN.
async fn open_price(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<OpenPriceForm>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = form.name.trim();
    let code = form.code.trim();
    let again = |key: &str| {
        flash(&session, &app.t(&session, key));
        if !code.is_empty() && code.len() <= 64 {
            session.insert("unknown_code", &code.to_owned());
        }
        home_redirect()
    };
    if name.is_empty() || name.chars().count() > 100 || code.is_empty() || code.len() > 64 {
        return again("till-open-price-name-needed");
    }
    let Some(amount) = parse_amount(&form.amount)
        .filter(|a| *a > Decimal::ZERO && a.normalize().scale() <= app.store.minor().0)
    else {
        return again("till-open-price-amount-needed");
    };
    let class = form.vat_class.trim();
    let known = coop_domain::vat::VatClassId::parse(class)
        .ok()
        .is_some_and(|c| app.settings.vat.schedule(&c).is_some());
    if !known {
        return again("till-open-price-vat-needed");
    }
    let manager = match approve(&app, &form.manager, &form.manager_pin).await {
        Ok(m) => m,
        Err(key) => return again(key),
    };
    let item = crate::store::OpenItem {
        code: code.to_owned(),
        name: name.to_owned(),
        vat_class: class.to_owned(),
        approved_by: manager,
    };
    match app.store.add_open_line(basket, &item, amount).await {
        Ok(line) => {
            tracing::info!(code, line, manager = %item.approved_by, "an open-price item was added");
            home_redirect()
        }
        Err(e) => failure(&e.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    new_quantity: String,
}

async fn set_quantity(
    State(app): State<TillApp>,
    session: Session,
    Path(line): Path<i64>,
    CsrfForm(form): CsrfForm<QuantityForm>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(Some(quantity)) = parse_quantity(&form.new_quantity) else {
        flash(&session, &app.t(&session, "till-quantity-not-a-number"));
        return home_redirect();
    };
    let unit = match app.store.basket(basket).await {
        Ok(Some(stored)) => match stored.lines.iter().find(|x| x.line_no == line) {
            Some(found) => match app.store.product(found.product_id).await {
                Ok(Some(product)) if found.pack_id.is_none() => product.unit,
                _ => crate::pricing::SaleUnit::Each,
            },
            None => return home_redirect(),
        },
        _ => return home_redirect(),
    };
    if let Err(e) = checkout::check_quantity(quantity, unit) {
        flash(&session, &app.refusal(&session, &e));
    } else if app
        .store
        .set_quantity(basket, line, quantity)
        .await
        .is_err()
    {
        flash(&session, &app.t(&session, "till-line-fixed"));
    }
    home_redirect()
}

async fn void(
    State(app): State<TillApp>,
    session: Session,
    Path(n): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let _ = app.store.void_line(basket, n).await;
    home_redirect()
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    number: String,
}

/// `POST /member`: a member's number (or their card scanned); empty takes the member off.
async fn member(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let number = form.number.trim();
    if number.is_empty() {
        let _ = app.store.set_member(basket, None).await;
        return home_redirect();
    }
    match app.store.member_by_number(number).await {
        Ok(Some(m)) if m.is_active() => {
            let _ = app.store.set_member(basket, Some(&m.sub)).await;
        }
        Ok(Some(_)) => flash(&session, &app.t(&session, "till-member-not-active")),
        _ => flash(&session, &app.t(&session, "till-member-unknown")),
    }
    home_redirect()
}

/// `POST /pay`: an amount per tender (`t-<tender>`); the sale completes when they settle it.
async fn pay(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut given = Vec::new();
    for t in &app.settings.tenders {
        let Some(v) = form.get(&format!("t-{}", t.id)) else {
            continue;
        };
        match parse_quantity(v) {
            Ok(None) => {}
            Ok(Some(a)) => given.push(Given {
                tender: t.id.clone(),
                amount: a,
            }),
            Err(()) => {
                flash(&session, &app.t(&session, "till-amount-not-a-number"));
                return home_redirect();
            }
        }
    }
    if !matches!(app.store.open_shift().await, Ok(Some(_))) {
        flash(&session, &app.t(&session, "till-shift-needed"));
        return home_redirect();
    }
    let training = form.get("training").is_some_and(|v| v == "on");
    let training_terminal = crate::terminal::Simulator::default();
    match checkout::complete(
        &app.store,
        &app.settings,
        &Completion {
            till: &app.till_id,
            basket,
            cashier: &sub,
            given: &given,
            now: Utc::now(),
            training,
            // A training sale never charges a real card: the simulator answers.
            card: Some(if training {
                &training_terminal as &dyn crate::terminal::Terminal
            } else {
                app.terminal.as_ref()
            }),
            wallet: app.wallet.as_deref(),
        },
    )
    .await
    {
        Ok(sale) => {
            tracing::info!(seq = sale.seq, sale_id = %sale.sale_id, "sale completed");
            // The sale is stored: the receipt prints after, and a printer's failure is shown,
            // not lost (it can be printed again from the receipt).
            let cash = sale.tenders.iter().any(|t| t.kind == "cash") || !sale.change.is_zero();
            print_in_background(&app, app.lang(&session), sale.clone(), cash);
            app.display
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .sale = Some((sale.sale_id, Utc::now()));
            Redirect::to(&format!("/receipts/{}", sale.sale_id)).into_response()
        }
        Err(e) => {
            flash(&session, &app.refusal(&session, &e));
            home_redirect()
        }
    }
}

async fn park(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    let basket = match basket_of(&app, &session).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match app.store.basket(basket).await {
        Ok(Some(b)) if b.lines.iter().any(|l| !l.voided) => {
            let _ = app.store.park(basket).await;
        }
        _ => flash(&session, &app.t(&session, "till-park-empty")),
    }
    home_redirect()
}

async fn resume(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    if app.store.resume(id, &sub).await.is_err() {
        flash(&session, &app.t(&session, "till-park-gone"));
    }
    home_redirect()
}

/// `GET /sales`: the latest sales, for a reprint.
async fn sales(State(app): State<TillApp>, session: Session) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let recent = app.store.recent(30).await.unwrap_or_default();
    app.render(
        &session,
        "/sales",
        "till_sales.html",
        &json!({ "sales": recent }),
    )
}

/// `GET /receipts/{id}`: the receipt, on screen and printable.
async fn receipt(State(app): State<TillApp>, session: Session, Path(id): Path<Uuid>) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    match app.store.sale(id).await {
        Ok(Some(sale)) => {
            let member = match &sale.member {
                Some(m) => app.store.member(m).await.ok().flatten(),
                None => None,
            };
            let original_number = match sale.original_sale {
                Some(o) => app
                    .store
                    .sale(o)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| format!("{}-{}", o.till, o.seq)),
                None => None,
            };
            app.render(
                &session,
                &format!("/receipts/{id}"),
                "till_receipt.html",
                &json!({
                    "sale": sale,
                    "member": member,
                    "org_name": app.settings.org_name,
                    "org_number": app.settings.org_number,
                    "receipt_number": format!("{}-{}", sale.till, sale.seq),
                    "original_number": original_number,
                    "message": take_flash(&session),
                }),
            )
        }
        _ => (StatusCode::NOT_FOUND, "no such receipt on this till").into_response(),
    }
}

fn parse_amount(s: &str) -> Option<Decimal> {
    parse_quantity(s).ok().flatten()
}

fn shift_refusal(app: &TillApp, session: &Session, e: &crate::shift::ShiftError) -> String {
    use crate::shift::ShiftError as E;
    let key = match e {
        E::AlreadyOpen => "till-shift-already-open",
        E::NoneOpen => "till-shift-none-open",
        E::Amount => "till-shift-amount",
        E::Store(err) => {
            tracing::error!(error = %err, "a shift action failed");
            "till-error-generic"
        }
    };
    app.t(session, key)
}

/// `GET /shift`: the open shift's X report with its cash forms, or the form to open one; the
/// latest shifts for their reports.
async fn shift_page(State(app): State<TillApp>, session: Session) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let message = take_flash(&session);
    let open = app.store.open_shift().await.ok().flatten();
    let x = match &open {
        Some(s) => crate::shift::report(&app.store, s, None).await.ok(),
        None => None,
    };
    let recent = app.store.shifts(10).await.unwrap_or_default();
    let managers: Vec<_> = app
        .store
        .cashiers()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.manager)
        .map(|c| json!({ "sub": c.sub, "name": c.name }))
        .collect();
    app.render(
        &session,
        "/shift",
        "till_shift.html",
        &json!({ "report": x, "recent": recent, "message": message, "closed": false,
                 "drawer": app.devices.drawer, "printer": app.devices.printer.is_some(),
                 "managers": managers }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct AmountForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

fn shift_redirect() -> Response {
    Redirect::to("/shift").into_response()
}

async fn shift_open(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<AmountForm>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    let float = if form.amount.trim().is_empty() {
        Some(Decimal::ZERO)
    } else {
        parse_amount(&form.amount)
    };
    let Some(float) = float else {
        flash(&session, &app.t(&session, "till-shift-amount"));
        return shift_redirect();
    };
    if let Err(e) = crate::shift::open(&app.store, &sub, float).await {
        flash(&session, &shift_refusal(&app, &session, &e));
        return shift_redirect();
    }
    home_redirect()
}

async fn shift_cash(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<AmountForm>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    let r = match parse_amount(&form.amount) {
        Some(a) => crate::shift::move_cash(&app.store, &sub, form.kind.trim(), a, note).await,
        None => Err(crate::shift::ShiftError::Amount),
    };
    if let Err(e) = r {
        flash(&session, &shift_refusal(&app, &session, &e));
    }
    shift_redirect()
}

async fn shift_close(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<AmountForm>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    let day = ends_terminal_day(&app);
    let r = match parse_amount(&form.amount) {
        Some(a) => crate::shift::close(&app.store, &sub, a, day).await,
        None if form.amount.trim() == "0" => {
            crate::shift::close(&app.store, &sub, Decimal::ZERO, day).await
        }
        None => Err(crate::shift::ShiftError::Amount),
    };
    match r {
        Ok(z) => {
            let id = z.shift.shift_id;
            end_terminal_day(&app, id).await;
            // The Z report goes on paper at once, with the terminal's day on it.
            if app.devices.printer.is_some() {
                if let Ok(Some(shift)) = app.store.shift(id).await {
                    if let Ok(z) = crate::shift::report(&app.store, &shift, None).await {
                        let ops = shift_paper(&app, app.lang(&session), &z);
                        print_and_say(&app, &session, &ops, false).await;
                    }
                }
            }
            Redirect::to(&format!("/shifts/{id}")).into_response()
        }
        Err(e) => {
            flash(&session, &shift_refusal(&app, &session, &e));
            shift_redirect()
        }
    }
}

/// `GET /shifts/{id}`: a shift's report, X while open, Z once closed; printable.
async fn shift_report(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let Ok(Some(shift)) = app.store.shift(id).await else {
        return (StatusCode::NOT_FOUND, "no such shift on this till").into_response();
    };
    let day_open = day_can_end(&app, &shift).await;
    match crate::shift::report(&app.store, &shift, None).await {
        Ok(r) => app.render(
            &session,
            &format!("/shifts/{id}"),
            "till_shift.html",
            &json!({ "report": r, "recent": [], "message": take_flash(&session),
                     "closed": shift.closed_at.is_some(), "printer": app.devices.printer.is_some(), "day_open": day_open }),
        ),
        Err(e) => failure(&e.to_string()),
    }
}

/// A manager's approval: their PIN checked like an unlock (five wrong tries lock them out a
/// minute). Answers the manager's id, or the refusal's message key.
async fn approve(app: &TillApp, manager: &str, pin: &str) -> Result<String, &'static str> {
    if manager.trim().is_empty() {
        return Err("till-manager-needed");
    }
    match check_pin(app, manager, pin, true).await {
        Ok(c) => Ok(c.sub),
        Err(PinRefusal::Locked(_)) => Err("till-unlock-locked"),
        Err(PinRefusal::Wrong) => Err("till-manager-wrong"),
    }
}

/// Why a PIN was refused.
enum PinRefusal {
    /// Too many wrong tries: locked out this long.
    Locked(std::time::Duration),
    Wrong,
}

/// One PIN check for unlocking, a manager's approval and the time clock: the person must be
/// among the till's cashiers (a manager, when `manager`), and five wrong tries lock that person
/// out a minute; the others are not.
async fn check_pin(
    app: &TillApp,
    who: &str,
    pin: &str,
    manager: bool,
) -> Result<crate::store::Cashier, PinRefusal> {
    let who = who.trim();
    if let Some(left) = app.throttle.locked(who) {
        return Err(PinRefusal::Locked(left));
    }
    let cashiers = app.store.cashiers().await.unwrap_or_default();
    let found = cashiers
        .into_iter()
        .find(|c| c.sub == who && (c.manager || !manager));
    let ok = match &found {
        Some(c) if pin::is_pin(pin) => pin::verify(pin.to_owned(), c.pin_hash.clone()).await,
        _ => false,
    };
    if let Some(c) = found.filter(|_| ok) {
        app.throttle.succeeded(who);
        Ok(c)
    } else {
        app.throttle.failed(who);
        Err(PinRefusal::Wrong)
    }
}

/// The return form for a sale in this till's journal.
async fn render_return(
    app: &TillApp,
    session: &Session,
    id: Uuid,
    message: Option<String>,
) -> Response {
    let sale = match app.store.sale(id).await {
        Ok(Some(s)) if s.kind == crate::journal::SaleKind::Sale => s,
        Ok(_) => return (StatusCode::NOT_FOUND, "no such sale on this till").into_response(),
        Err(e) => return failure(&e.to_string()),
    };
    let lines = match crate::returns::returnable(&app.store, &sale).await {
        Ok(l) => l,
        Err(e) => return failure(&e.to_string()),
    };
    let managers: Vec<_> = app
        .store
        .cashiers()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.manager)
        .map(|c| json!({ "sub": c.sub, "name": c.name }))
        .collect();
    let tenders: Vec<_> = app
        .settings
        .tenders
        .iter()
        .filter(|t| {
            t.kind == crate::tender::TenderKind::Cash
                || (t.kind == crate::tender::TenderKind::Wallet && sale.member.is_some())
                || t.kind == crate::tender::TenderKind::Card
        })
        .map(|t| json!({ "id": t.id, "class": t.kind.class() }))
        .collect();
    let anything_left = lines.iter().any(|l| l.left > Decimal::ZERO);
    let receipt_number = format!("{}-{}", sale.till, sale.seq);
    app.render(
        session,
        &format!("/returns/{id}"),
        "till_return.html",
        &json!({
            "sale": sale,
            "lines": lines,
            "tenders": tenders,
            "managers": managers,
            "limit": app.settings.return_pin_above,
            "anything_left": anything_left,
            "receipt_number": receipt_number,
            "message": message,
        }),
    )
}

/// `GET /returns/{id}`: what can come back of a sale, and how it is paid back.
async fn return_page(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let message = take_flash(&session);
    render_return(&app, &session, id, message).await
}

/// `POST /returns/{id}`: `q-<line>` quantities, `tender`, and above the limit `manager` and
/// `manager_pin`. Written durably, then the return's receipt.
async fn return_post(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    let back = || Redirect::to(&format!("/returns/{id}")).into_response();
    let mut quantities = Vec::new();
    for (k, v) in &form {
        let Some(n) = k.strip_prefix("q-").and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        match parse_quantity(v) {
            Ok(None) => {}
            Ok(Some(q)) => quantities.push((n, q)),
            Err(()) => {
                flash(&session, &app.t(&session, "till-quantity-not-a-number"));
                return back();
            }
        }
    }
    if !matches!(app.store.open_shift().await, Ok(Some(_))) {
        flash(&session, &app.t(&session, "till-shift-needed"));
        return back();
    }
    let tender = form.get("tender").map_or("", |t| t.trim());
    // Above the limit, a manager's PIN; checked only when it is needed, so that a wrong PIN
    // typed for nothing locks nobody out.
    let needs_manager = match crate::returns::plan(&app.store, &app.settings, id, &quantities).await
    {
        Ok(p) => crate::returns::manager_needed(&app.store, &app.settings, &p, tender)
            .await
            .is_ok_and(|m| m.is_some()),
        Err(_) => false,
    };
    let approved_by = if needs_manager {
        match approve(
            &app,
            form.get("manager").map_or("", String::as_str),
            form.get("manager_pin").map_or("", String::as_str),
        )
        .await
        {
            Ok(m) => Some(m),
            Err(key) => {
                flash(&session, &app.t(&session, key));
                return back();
            }
        }
    } else {
        None
    };
    match crate::returns::complete(
        &app.store,
        &app.settings,
        &crate::returns::ReturnRequest {
            till: &app.till_id,
            cashier: &sub,
            original: id,
            quantities: &quantities,
            tender,
            approved_by: approved_by.as_deref(),
            now: Utc::now(),
            card: Some(app.terminal.as_ref()),
        },
    )
    .await
    {
        Ok(r) => {
            tracing::info!(seq = r.seq, original = %id, approved_by = ?r.approved_by, "return completed");
            // The return's receipt prints at once, the drawer opening for cash paid back.
            let cash = r.tenders.iter().any(|t| t.kind == "cash");
            print_in_background(&app, app.lang(&session), r.clone(), cash);
            Redirect::to(&format!("/receipts/{}", r.sale_id)).into_response()
        }
        Err(e) => {
            flash(&session, &app.return_refusal(&session, &e));
            back()
        }
    }
}

/// `GET /clock`: clock in or out with one's PIN; who is in now. No cashier need be unlocked.
async fn clock_page(State(app): State<TillApp>, session: Session) -> Response {
    let message = take_flash(&session);
    let done = session.get::<String>("clock_done");
    if done.is_some() {
        session.remove("clock_done");
    }
    let cashiers = app.store.cashiers().await.unwrap_or_default();
    let names: BTreeMap<String, String> = cashiers
        .iter()
        .map(|c| (c.sub.clone(), c.name.clone()))
        .collect();
    let inside: Vec<_> = app
        .store
        .clocked_in()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(sub, at)| json!({ "name": names.get(&sub).cloned().unwrap_or(sub), "since": at }))
        .collect();
    let people: Vec<_> = cashiers
        .iter()
        .map(|c| json!({ "sub": c.sub, "name": c.name }))
        .collect();
    app.render(
        &session,
        "/clock",
        "till_clock.html",
        &json!({ "people": people, "inside": inside, "message": message, "done": done }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ClockForm {
    #[serde(default)]
    who: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    kind: String,
}

/// `POST /clock`: `who`, their `pin` and `kind` (`in` or `out`).
async fn clock_post(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<ClockForm>,
) -> Response {
    let back = || Redirect::to("/clock").into_response();
    let Some(kind) = crate::clock::Kind::parse(form.kind.trim()) else {
        return back();
    };
    let person = match check_pin(&app, &form.who, &form.pin, false).await {
        Ok(p) => p,
        Err(PinRefusal::Locked(_)) => {
            flash(&session, &app.t(&session, "till-unlock-locked"));
            return back();
        }
        Err(PinRefusal::Wrong) => {
            flash(&session, &app.t(&session, "till-unlock-wrong"));
            return back();
        }
    };
    let now = Utc::now();
    match crate::clock::clock(&app.store, &person.sub, kind, now).await {
        Ok(e) => {
            tracing::info!(who = %e.sub, kind = e.kind.as_str(), "clocked");
            let lang = app.lang(&session);
            let tz = app.settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
            let at = coop_web::format::Format::new(lang, tz).datetime(now);
            let key = match kind {
                crate::clock::Kind::In => "till-clock-done-in",
                crate::clock::Kind::Out => "till-clock-done-out",
            };
            let text = app.templates.translations().format(
                lang,
                key,
                &[
                    (
                        "name",
                        coop_web::i18n::FluentValue::from(person.name.clone()),
                    ),
                    ("at", coop_web::i18n::FluentValue::from(at)),
                ],
            );
            session.insert("clock_done", &text);
        }
        Err(crate::clock::ClockError::AlreadyIn(_)) => {
            flash(&session, &app.t(&session, "till-clock-already-in"));
        }
        Err(crate::clock::ClockError::NotIn) => {
            flash(&session, &app.t(&session, "till-clock-not-in"));
        }
        Err(e) => return failure(&e.to_string()),
    }
    back()
}

/// Prints a sale's (or return's) receipt without holding up the cashier: a printer's problem
/// shows on the next page, and the receipt can be printed again. `cash` opens the drawer
/// first, where the till has one.
fn print_in_background(app: &TillApp, lang: Lang, sale: crate::journal::SaleRecord, cash: bool) {
    let app = app.clone();
    tokio::spawn(async move {
        let ops = receipt_ops(&app, lang, &sale, cash && app.devices.drawer).await;
        let _ = app.devices.print(&ops).await;
    });
}

/// A sale's receipt for the printer, in `lang`; `drawer` opens the cash drawer first.
async fn receipt_ops(
    app: &TillApp,
    lang: Lang,
    sale: &crate::journal::SaleRecord,
    drawer: bool,
) -> Vec<coop_pos_devices::escpos::Op> {
    use coop_pos_devices::receipt::{render, Doc, Item};
    use coop_web::i18n::FluentValue as V;
    let tr = app.templates.translations();
    let t = |k: &str| tr.text(lang, k);
    let (format, money) = paper_format(app, lang);
    let number = format!("{}-{}", sale.till, sale.seq);
    let mut title = vec![format!(
        "{} {number} · {}",
        t("till-receipt"),
        format.datetime(sale.completed_at)
    )];
    match sale.kind {
        crate::journal::SaleKind::Training => title.push(t("till-training-receipt")),
        crate::journal::SaleKind::Return => title.push(t("till-return-receipt")),
        crate::journal::SaleKind::Sale => {}
    }
    let mut header = vec![app.settings.org_name.clone()];
    if let Some(n) = app.settings.org_number.as_ref().filter(|n| !n.is_empty()) {
        header.push(format!("{} {n}", t("till-org-number")));
    }
    let items = sale
        .lines
        .iter()
        .map(|l| Item {
            name: l.name.clone(),
            detail: format!(
                "{} × {} · {} %",
                l.quantity.normalize(),
                money(l.unit_price),
                l.vat_percent.normalize()
            ),
            amount: money(l.amount),
        })
        .collect();
    let mut summary: Vec<(String, String)> = sale
        .by_rate
        .iter()
        .map(|r| {
            (
                tr.format(
                    lang,
                    "till-vat-at",
                    &[("rate", V::from(r.vat_percent.normalize().to_string()))],
                ),
                money(r.vat),
            )
        })
        .collect();
    if !sale.rounding.is_zero() {
        summary.push((t("till-rounding"), money(sale.rounding)));
    }
    for tn in &sale.tenders {
        summary.push((
            format!("{} ({})", t(&format!("till-tender-{}", tn.kind)), tn.tender),
            money(tn.amount),
        ));
    }
    summary.push((t("till-change"), money(sale.change)));
    let mut footer = Vec::new();
    if let Some(m) = &sale.member {
        if let Ok(Some(member)) = app.store.member(m).await {
            footer.push(format!("{}: {}", t("till-member"), member.name));
        }
    }
    footer.push(t("till-receipt-thanks"));
    let mut ops = render(
        &Doc {
            header,
            title,
            items,
            total: Some((t("till-total"), money(sale.total))),
            summary,
            footer,
            code: Some(number),
            qr: app.devices.qr,
            drawer,
        },
        app.devices.width,
    );
    // The card terminal's own receipt after the till's, where it sent one.
    if sale.tenders.iter().any(|t| t.kind == "card") {
        if let Ok(Some(key)) = app.store.card_key(sale.sale_id).await {
            let lines = app.terminal.slip(key).await;
            ops.extend(coop_pos_devices::receipt::slip(&lines, app.devices.width));
        }
    }
    ops
}

/// `POST /receipts/{id}/print`: the receipt again (a printer that failed, a member who asks).
async fn reprint(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let Ok(Some(sale)) = app.store.sale(id).await else {
        return (StatusCode::NOT_FOUND, "no such receipt on this till").into_response();
    };
    let ops = receipt_ops(&app, app.lang(&session), &sale, false).await;
    print_and_say(&app, &session, &ops, true).await;
    Redirect::to(&format!("/receipts/{id}")).into_response()
}

/// Prints `ops` and says on the next page how it went: the printer's problem, or (with
/// `say_done`) that it printed.
async fn print_and_say(
    app: &TillApp,
    session: &Session,
    ops: &[coop_pos_devices::escpos::Op],
    say_done: bool,
) {
    match app.devices.print(ops).await {
        Ok(()) if say_done => flash(session, &app.t(session, "till-printed")),
        Ok(()) => {}
        Err(e) => flash(
            session,
            &app.t(
                session,
                &format!("till-printer-{}", crate::devices::problem_key(&e)),
            ),
        ),
    }
}

/// `POST /shifts/{id}/print`: the shift's X or Z report on paper.
async fn print_shift(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let Ok(Some(shift)) = app.store.shift(id).await else {
        return (StatusCode::NOT_FOUND, "no such shift on this till").into_response();
    };
    let Ok(r) = crate::shift::report(&app.store, &shift, None).await else {
        return failure("the report could not be made");
    };
    let ops = shift_paper(&app, app.lang(&session), &r);
    print_and_say(&app, &session, &ops, true).await;
    Redirect::to(&format!("/shifts/{id}")).into_response()
}

/// `POST /shifts/{id}/terminal-day`: asks the card terminal again to end its day, for a closed
/// shift whose close could not (the terminal or the bridge was down).
async fn terminal_day(
    State(app): State<TillApp>,
    session: Session,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Response {
    if cashier(&session).is_none() {
        return home_redirect();
    }
    let Ok(Some(shift)) = app.store.shift(id).await else {
        return (StatusCode::NOT_FOUND, "no such shift on this till").into_response();
    };
    if !day_can_end(&app, &shift).await {
        return (
            StatusCode::CONFLICT,
            "only the latest closed shift's terminal day can be ended, while no shift is open",
        )
            .into_response();
    }
    end_terminal_day(&app, id).await;
    Redirect::to(&format!("/shifts/{id}")).into_response()
}

/// Whether closing a shift ends the card terminal's day: the till takes cards, and the
/// terminal is its own (devices.terminal_day_at_close).
fn ends_terminal_day(app: &TillApp) -> bool {
    app.devices.terminal_day
        && app
            .settings
            .tenders
            .iter()
            .any(|t| t.kind == crate::tender::TenderKind::Card)
}

/// Whether the card terminal's day may be ended for `shift`: the till ends its terminal's days,
/// the shift is closed and its day not ended yet, it is the latest shift, and no shift is open
/// (a later one's card payments would count as this one's).
async fn day_can_end(app: &TillApp, shift: &crate::shift::Shift) -> bool {
    if !ends_terminal_day(app) || shift.closed_at.is_none() || shift.terminal_reported {
        return false;
    }
    let latest = app
        .store
        .shifts(1)
        .await
        .ok()
        .and_then(|s| s.into_iter().next());
    latest.is_some_and(|l| l.shift_id == shift.shift_id)
        && matches!(app.store.open_shift().await, Ok(None))
}

/// Asks the card terminal to end its day for the closed shift `id`, and keeps its answer with
/// the shift. One at a time, and never for a shift whose day was ended already.
async fn end_terminal_day(app: &TillApp, id: Uuid) {
    let _one = app.terminal_day.lock().await;
    match app.store.shift(id).await {
        Ok(Some(s)) if day_can_end(app, &s).await => {}
        _ => return,
    }
    let answer = app.terminal.end_of_day().await;
    match &answer {
        Ok(total) => tracing::info!(shift = %id, total = ?total, "the card terminal ended its day"),
        Err(e) => {
            tracing::warn!(shift = %id, error = %e, "the card terminal's day could not be ended");
        }
    }
    if let Err(e) = crate::shift::record_terminal_day(&app.store, id, answer).await {
        tracing::error!(shift = %id, error = %e, "the terminal's day could not be kept");
    }
}

/// A shift's X or Z report as the printer takes it, in `lang`.
fn shift_paper(
    app: &TillApp,
    lang: Lang,
    r: &crate::shift::Report,
) -> Vec<coop_pos_devices::escpos::Op> {
    use coop_pos_devices::receipt::{render, Doc};
    use coop_web::i18n::FluentValue as V;
    let shift = &r.shift;
    let tr = app.templates.translations();
    let t = |k: &str| tr.text(lang, k);
    let (format, money) = paper_format(app, lang);
    let count = |k: &str, n: i64| tr.format(lang, k, &[("count", V::from(n))]);
    let mut summary = vec![
        (count("till-shift-sales", r.sales), String::new()),
        (count("till-shift-returns", r.returns), String::new()),
        (count("till-shift-training", r.training), String::new()),
    ];
    for l in &r.by_rate {
        summary.push((
            tr.format(
                lang,
                "till-vat-at",
                &[("rate", V::from(l.vat_percent.normalize().to_string()))],
            ),
            format!("{} / {}", money(l.vat), money(l.gross)),
        ));
    }
    for l in &r.by_tender {
        summary.push((l.tender.clone(), money(l.amount)));
    }
    summary.push((t("till-shift-cash-in"), money(r.cash_in)));
    summary.push((t("till-shift-cash-out"), money(r.cash_out)));
    summary.push((t("till-shift-expected"), money(r.expected_cash)));
    if let Some(c) = shift.counted {
        summary.push((t("till-shift-counted"), money(c)));
    }
    if let Some(o) = r.over_short {
        summary.push((t("till-shift-over-short"), money(o)));
    }
    if let Some(total) = shift.terminal_total {
        summary.push((t("till-terminal-paper-total"), money(total)));
        summary.push((t("till-terminal-paper-card"), money(r.card_total)));
    }
    let mut footer = Vec::new();
    if let (true, Some(d)) = (r.terminal_mismatch, r.terminal_difference) {
        footer.push(tr.format(
            lang,
            "till-terminal-difference",
            &[("amount", V::from(money(d)))],
        ));
    }
    if let Some(p) = &shift.terminal_problem {
        footer.push(tr.format(
            lang,
            "till-terminal-day-problem",
            &[("reason", V::from(p.as_str()))],
        ));
    }
    let title = vec![
        t(if shift.closed_at.is_some() {
            "till-z-report"
        } else {
            "till-x-report"
        }),
        format!(
            "{} {}",
            t("till-shift-opened"),
            format.datetime(shift.opened_at)
        ),
    ];
    render(
        &Doc {
            header: vec![app.settings.org_name.clone()],
            title,
            items: Vec::new(),
            total: Some((t("till-total"), money(r.total))),
            summary,
            footer,
            code: None,
            qr: false,
            drawer: false,
        },
        app.devices.width,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct NoSaleForm {
    #[serde(default)]
    manager: String,
    #[serde(default)]
    manager_pin: String,
}

/// `POST /drawer`: a manager's "no sale": the drawer opens, and the till's journal of drawer
/// openings says who and when.
async fn no_sale(
    State(app): State<TillApp>,
    session: Session,
    CsrfForm(form): CsrfForm<NoSaleForm>,
) -> Response {
    let Some((sub, _)) = cashier(&session) else {
        return home_redirect();
    };
    if !app.devices.drawer {
        flash(&session, &app.t(&session, "till-drawer-none"));
        return shift_redirect();
    }
    let manager = match approve(&app, &form.manager, &form.manager_pin).await {
        Ok(m) => m,
        Err(key) => {
            flash(&session, &app.t(&session, key));
            return shift_redirect();
        }
    };
    if let Err(e) = app.store.log_drawer_opening(&sub, &manager).await {
        tracing::error!(error = %e, "a drawer opening was not logged");
        flash(&session, &app.t(&session, "till-drawer-not-logged"));
        return shift_redirect();
    }
    tracing::info!(cashier = %sub, manager = %manager, "no sale: the drawer opened");
    let pin5 = app.devices.drawer_pin5;
    match app
        .devices
        .print(&[
            coop_pos_devices::escpos::Op::Init,
            coop_pos_devices::escpos::Op::Drawer { pin5 },
        ])
        .await
    {
        Ok(()) => flash(&session, &app.t(&session, "till-drawer-opened")),
        Err(e) => flash(
            &session,
            &app.t(
                &session,
                &format!("till-printer-{}", crate::devices::problem_key(&e)),
            ),
        ),
    }
    shift_redirect()
}

/// The cashier's words for why the scale gave no weight.
fn scale_refusal(e: &coop_pos_devices::scale::WeighError) -> &'static str {
    use coop_pos_devices::scale::{ScaleError, WeighError};
    match e {
        WeighError::Unstable => "till-scale-unstable",
        WeighError::OverCapacity => "till-scale-over",
        WeighError::UnderZero => "till-scale-under-zero",
        WeighError::NotPositive(_) => "till-scale-nothing",
        WeighError::Scale(ScaleError::Pounds) => "till-scale-pounds",
        WeighError::Scale(ScaleError::Garbled(_)) => "till-scale-garbled",
        WeighError::Scale(ScaleError::NoAnswer(_)) => "till-scale-no-answer",
    }
}

/// `GET /display`: the customer display (the till's second screen): the lines and the total as
/// the cashier scans, then the sale's total, tenders and change. It refreshes itself every
/// second, with no script.
async fn display(State(app): State<TillApp>, session: Session) -> Response {
    let lang = app.lang(&session);
    let context = match shown(&app, lang).await {
        Shown::Sale(sale) => json!({ "sale": sale }),
        Shown::Basket { lines, total } => json!({
            "lines": lines.iter().map(|(name, quantity, amount)| json!({
                "name": name, "quantity": quantity, "amount": amount,
            })).collect::<Vec<_>>(),
            "total": total,
        }),
        Shown::Welcome => json!({}),
    };
    app.render(&session, "/display", "till_display.html", &context)
}

/// What the customer sees: the sale just made, the basket being scanned, or a welcome.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Sale(Box<crate::journal::SaleRecord>),
    /// Each line's name, quantity and amount (none while it cannot be priced), and the total.
    Basket {
        lines: Vec<(String, Decimal, Option<Decimal>)>,
        total: Option<Decimal>,
    },
    Welcome,
}

async fn shown(app: &TillApp, lang: Lang) -> Shown {
    let state = app
        .display
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let recent = state
        .sale
        .filter(|(_, at)| Utc::now() - *at < chrono::Duration::seconds(60));
    if let Some((id, _)) = recent {
        if let Ok(Some(sale)) = app.store.sale(id).await {
            return Shown::Sale(Box::new(sale));
        }
    }
    if let Some(sub) = &state.cashier {
        if let Ok(basket) = app.store.open_basket(sub).await {
            let day = app.settings.business_day(Utc::now());
            if let Ok(p) = checkout::price_basket(&app.store, &app.settings, basket, day).await {
                let lines: Vec<_> = p
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        (
                            l.pack_name
                                .clone()
                                .unwrap_or_else(|| l.product.name_in(lang.code()).to_owned()),
                            l.quantity,
                            p.priced.as_ref().map(|pr| pr.lines[i].amount.amount()),
                        )
                    })
                    .collect();
                if !lines.is_empty() {
                    return Shown::Basket {
                        lines,
                        total: p.priced.as_ref().map(|pr| pr.total.amount()),
                    };
                }
            }
        }
    }
    Shown::Welcome
}

/// The pole display's two lines for what the customer sees, in the till's language: the
/// welcome; the last line scanned and the total; the total paid and the change.
async fn pole_lines(app: &TillApp) -> (String, String) {
    use coop_pos_devices::pole::line;
    let lang = app.default_lang;
    let tr = app.templates.translations();
    let t = |k: &str| tr.text(lang, k);
    let (_, money) = paper_format(app, lang);
    match shown(app, lang).await {
        Shown::Sale(sale) => (
            line(&t("till-total"), &money(sale.total)),
            line(&t("till-change"), &money(sale.change)),
        ),
        Shown::Basket { lines, total } => {
            let (name, _, amount) = lines.last().cloned().unwrap_or_default();
            (
                line(&name, &amount.map(&money).unwrap_or_default()),
                line(&t("till-total"), &total.map(&money).unwrap_or_default()),
            )
        }
        Shown::Welcome => (app.settings.org_name.clone(), t("till-pole-welcome")),
    }
}

/// Keeps the pole display showing what the customer display shows: it looks four times a
/// second and writes when that changed (and every half minute, for a display plugged back
/// in). A display that is away is logged once, and the till goes on selling.
pub async fn run_pole(app: TillApp) {
    let Some(pole) = app.devices.pole.clone() else {
        return;
    };
    let mut last: Option<(String, String)> = None;
    let mut written = tokio::time::Instant::now();
    let mut failing = false;
    loop {
        let now = pole_lines(&app).await;
        let refresh = written.elapsed() > std::time::Duration::from_secs(30);
        if refresh {
            pole.reinitialise();
        }
        if last.as_ref() != Some(&now) || refresh {
            match pole.show(&now.0, &now.1).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("the pole display works again");
                    }
                    failing = false;
                    last = Some(now);
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, path = %pole.config.path.display(), "the pole display cannot be written");
                    }
                    failing = true;
                    last = None;
                }
            }
            written = tokio::time::Instant::now();
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The customer display alone, for a second screen on the network (`devices.display_listen`):
/// `/display` and its style sheets, nothing else.
pub fn display_router(app: TillApp, session: Arc<SessionConfig>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/display") }))
        .route("/display", get(display))
        .route("/static/kit.css", get(kit_css))
        .route("/static/theme.css", get(theme_css))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            session,
            coop_web::session::session_layer,
        ))
}

/// How the printed receipt and report write times and money: the till's zone and currency.
fn paper_format(
    app: &TillApp,
    lang: Lang,
) -> (coop_web::format::Format, impl Fn(Decimal) -> String + '_) {
    let tz = app.settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let format = coop_web::format::Format::new(lang, tz);
    let money = move |d: Decimal| match app.settings.currency() {
        Ok(c) => format.money(coop_domain::Money::new(d, c)),
        Err(_) => d.to_string(),
    };
    (format, money)
}
