//! A supplier's price list: every bad row reported by its line and nothing imported, unless the
//! manager skips the bad rows; known articles updated, new ones added not on sale; through the
//! upload form as a manager would.

use coop_domain::Role;
use coop_ims::catalogue;
use coop_ims::price_list;
use rust_decimal_macros::dec;

use crate::catalogue::{database, ean13};

fn classes() -> Vec<String> {
    vec!["food".into(), "standard".into()]
}

#[tokio::test]
async fn bad_rows_are_named_by_line_and_good_ones_update_or_add() {
    let pool = database().await;
    let kvarn = catalogue::supplier(&pool, "Kvarnen", None, 5)
        .await
        .unwrap();
    let mut f = crate::catalogue::form("RAG", "Rågmjöl", "each", "39.90", "");
    f.supplier = kvarn.to_string();
    f.supplier_article = "K-200".into();
    let rye = crate::catalogue::product(&pool, &f).await;

    let csv = format!(
        "artikelnummer;namn;ean;enhet;kartong;inpris;utpris\n\
         K-200;Rågmjöl 2 kg;;st;6;21,50;42,90\n\
         K-300;Dinkelmjöl 2 kg;{};st;6;28,00;\n\
         K-400;Havremjöl;;dozen;6;10;\n\
         K-500;;;st;6;10;\n\
         K-600;Grahamsmjöl;{};st;6;10;\n\
         K-700;Kornmjöl;;st;6;10,999;\n\
         K-200;Igen;;st;6;10;\n",
        ean13("731000100099"),
        {
            // A real barcode with its last digit changed.
            let good = ean13("731000100001");
            let last = (good.as_bytes()[12] - b'0' + 1) % 10;
            format!("{}{last}", &good[..12])
        }
    );
    let (rows, errors) = price_list::parse(csv.as_bytes(), 2, &classes());
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8], "{errors:#?}");
    assert!(errors[0].message.contains("dozen") && errors[3].message.contains("cost"));
    assert_eq!(rows.len(), 2);
    // A file without the needed columns is one error on line 1.
    let (_, e) = price_list::parse(b"sku,price\nA,1\n", 2, &classes());
    assert_eq!((e.len(), e[0].line), (1, 1));

    let done = price_list::apply(&pool, kvarn, &rows, "food")
        .await
        .unwrap();
    assert_eq!((done.updated, done.added), (1, 1));
    let mut conn = pool.acquire().await.unwrap();
    let d = catalogue::detail(&mut conn, rye).await.unwrap().unwrap();
    assert_eq!(
        (d.product.cost, d.product.shelf_price, d.product.case_size),
        (dec!(21.50), dec!(42.90), dec!(6))
    );
    let (active, cost): (bool, rust_decimal::Decimal) =
        sqlx::query_as("select active, cost from product where supplier_article = 'K-300'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (active, cost),
        (false, dec!(28.00)),
        "new, and not on sale yet"
    );

    // Another supplier's list naming a barcode of Kvarnen's product does not take it over: the
    // lot is refused, naming the barcode, and the product keeps its supplier and cost.
    let other = catalogue::supplier(&pool, "Grossisten", None, 2)
        .await
        .unwrap();
    let rows = rows
        .iter()
        .filter(|r| r.gtin.is_some())
        .map(|r| price_list::Row {
            article: "G-1".into(),
            cost: dec!(1),
            ..r.clone()
        })
        .collect::<Vec<_>>();
    assert_eq!(rows.len(), 1);
    let refused = price_list::apply(&pool, other, &rows, "food").await;
    assert!(
        matches!(&refused, Err(catalogue::CatalogueError::Invalid { message, .. })
            if message.contains("belongs to another product")),
        "{refused:?}"
    );
    let (supplier, cost): (Option<uuid::Uuid>, rust_decimal::Decimal) =
        sqlx::query_as("select supplier_id, cost from product where supplier_article = 'K-300'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((supplier, cost), (Some(kvarn), dec!(28.00)));
}

#[tokio::test]
async fn through_the_upload_form_nothing_is_imported_until_every_row_is_good_or_skipped() {
    let app = crate::http::app().await;
    let b = crate::http::Browser::open(&app).await;
    let manager = crate::http::user(&[Role::Manager]);
    let a = b
        .post(
            "/suppliers",
            &[
                ("name", "Kvarnen"),
                ("email", "kvarn@example.org"),
                ("lead_time_days", "5"),
            ],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::SEE_OTHER, "{}", a.body);
    let path = a.location.unwrap().split("/ims").nth(1).unwrap().to_owned();
    let file = b"article,name,cost\nA-1,Vetemjol,12.00\nA-2,,10\n";
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from product")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let a = b
        .upload(
            &format!("{path}/price-list"),
            "file",
            "list.csv",
            file,
            &[],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains("<td class=\"num\">3</td>"),
        "line 3 named: {}",
        a.body
    );
    assert_eq!(count().await, 0);
    let a = b
        .upload(
            &format!("{path}/price-list"),
            "file",
            "list.csv",
            file,
            &[("skip_bad", "on")],
            Some(&manager),
        )
        .await;
    assert!(a.body.contains("id=\"imported\""), "{}", a.body);
    assert_eq!(count().await, 1);
    // A member cannot upload.
    let a = b
        .upload(
            &format!("{path}/price-list"),
            "file",
            "list.csv",
            file,
            &[],
            Some(&crate::http::user(&[Role::Member])),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::FORBIDDEN);
}
