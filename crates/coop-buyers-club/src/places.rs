//! Where the suppliers and members are (the spec's "address, for mapping"): the places page
//! lists every supplier with an address or coordinates, and the members who chose to be shown,
//! and, where the co-op configures a tile server, draws them on a map.
//!
//! The map is plain HTML: the tiles are images placed by the server (Web Mercator, the
//! projection every slippy-map tile server uses), the places are numbered links over them
//! that match the list's numbers. It needs no script, and the list beside it says everything
//! the map does, for a screen reader too.

use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::Refused;

/// A place on the page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Place {
    /// `supplier` or `member`.
    pub kind: String,
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
}

/// The suppliers with an address or coordinates, and the members who chose to be shown.
///
/// # Errors
/// The database's.
pub async fn all(db: &PgPool) -> Result<Vec<Place>, sqlx::Error> {
    sqlx::query_as(
        "select 'supplier' as kind, supplier_id as id, name, address, latitude, longitude
         from supplier where deleted_at is null and (address <> '' or latitude is not null)
         union all
         select 'member', c.member_id, coalesce(m.name, ''), c.address, c.latitude, c.longitude
         from member_contact c left join member m using (member_id)
         where c.on_map and (c.address <> '' or c.latitude is not null)
           and coalesce(m.status, 'active') = 'active'
         order by 1 desc, 3",
    )
    .fetch_all(db)
    .await
}

/// A member's own place, as they gave it.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Mine {
    pub address: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    pub on_map: bool,
}

/// # Errors
/// The database's.
pub async fn mine(db: &PgPool, member: Uuid) -> Result<Mine, sqlx::Error> {
    Ok(sqlx::query_as(
        "select address, latitude, longitude, on_map from member_contact where member_id = $1",
    )
    .bind(member)
    .fetch_optional(db)
    .await?
    .unwrap_or_default())
}

/// Sets a member's place: an address (up to 500 characters), coordinates (both or neither),
/// and whether the other members see it.
///
/// # Errors
/// What is wrong (nothing changes), or the database's.
pub async fn set_mine(
    db: &PgPool,
    member: Uuid,
    mine: &Mine,
    lang: coop_web::Lang,
) -> Result<(), Refused> {
    if mine.address.chars().count() > 500 {
        return Err(Refused::Invalid(
            "an address has at most 500 characters".into(),
        ));
    }
    match (mine.latitude, mine.longitude) {
        (None, None) => {}
        (Some(lat), Some(lon))
            if lat.abs() <= Decimal::from(90) && lon.abs() <= Decimal::from(180) => {}
        _ => {
            return Err(Refused::Invalid(
                "a location is a latitude (-90 to 90) and a longitude (-180 to 180)".into(),
            ))
        }
    }
    sqlx::query(
        "insert into member_contact (member_id, lang, address, latitude, longitude, on_map)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (member_id) do update
         set address = excluded.address, latitude = excluded.latitude,
             longitude = excluded.longitude, on_map = excluded.on_map, updated_at = now()",
    )
    .bind(member)
    .bind(lang.code())
    .bind(mine.address.trim())
    .bind(mine.latitude.map(|d| d.round_dp(6)))
    .bind(mine.longitude.map(|d| d.round_dp(6)))
    .bind(mine.on_map)
    .execute(db)
    .await?;
    Ok(())
}

/// A tile server's URL template: `https://tile.example.org/{z}/{x}/{y}.png`.
///
/// # Errors
/// Not http(s), or without `{z}`, `{x}` and `{y}`.
pub fn check_tiles(template: &str) -> Result<(), String> {
    let url = template
        .replace("{z}", "0")
        .replace("{x}", "0")
        .replace("{y}", "0");
    let parsed: reqwest::Url = url
        .parse()
        .map_err(|_| "services.buyers_club.map_tiles is a URL".to_owned())?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.host().is_none()
        || !["{z}", "{x}", "{y}"].iter().all(|p| template.contains(p))
    {
        return Err(
            "services.buyers_club.map_tiles is an http(s) URL with {z}, {x} and {y}, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
        );
    }
    Ok(())
}

/// The origin of the tile server, for the page's Content-Security-Policy.
#[must_use]
pub fn tiles_origin(template: &str) -> Option<String> {
    let url: reqwest::Url = template
        .replace("{z}", "0")
        .replace("{x}", "0")
        .replace("{y}", "0")
        .parse()
        .ok()?;
    Some(url.origin().ascii_serialization())
}

/// One tile of the drawn map, `left`/`top` in pixels from the map's corner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tile {
    pub url: String,
    pub left: i64,
    pub top: i64,
}

/// One numbered place on the drawn map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pin {
    /// Its number in the list (from 1).
    pub n: usize,
    pub left: i64,
    pub top: i64,
}

/// A drawn map: its size, tiles and pins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Map {
    pub width: i64,
    pub height: i64,
    pub zoom: u32,
    pub tiles: Vec<Tile>,
    pub pins: Vec<Pin>,
}

const TILE: f64 = 256.0;

/// Web Mercator: the world at `zoom` as pixels (`256 · 2^zoom` square).
fn project(lat: f64, lon: f64, zoom: u32) -> (f64, f64) {
    let size = TILE * f64::from(1u32 << zoom);
    let lat = lat.clamp(-85.051_128, 85.051_128).to_radians();
    let x = (lon + 180.0) / 360.0 * size;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * size;
    (x, y)
}

/// Draws the places that have coordinates (`points`: (number in the list, latitude,
/// longitude)) on a `width` × `height` map: the closest zoom (at most 15) at which all fit
/// with a margin, centred on them. `None` without points.
#[must_use]
pub fn draw(
    points: &[(usize, Decimal, Decimal)],
    template: &str,
    width: i64,
    height: i64,
) -> Option<Map> {
    let pts: Vec<(usize, f64, f64)> = points
        .iter()
        .filter_map(|(n, la, lo)| Some((*n, la.to_f64()?, lo.to_f64()?)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let margin = 40.0;
    #[allow(clippy::cast_precision_loss)]
    let (w, h) = (width as f64, height as f64);
    let mut zoom = 15;
    loop {
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| project(p.1, p.2, zoom)).collect();
        let (minx, maxx) = xy
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (miny, maxy) = xy
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        if (maxx - minx <= w - 2.0 * margin && maxy - miny <= h - 2.0 * margin) || zoom == 1 {
            let (cx, cy) = (f64::midpoint(minx, maxx), f64::midpoint(miny, maxy));
            let (ox, oy) = (cx - w / 2.0, cy - h / 2.0);
            let n = i64::from(1u32 << zoom);
            #[allow(clippy::cast_possible_truncation)]
            let (tx0, ty0) = ((ox / TILE).floor() as i64, (oy / TILE).floor() as i64);
            #[allow(clippy::cast_possible_truncation)]
            let (tx1, ty1) = (
                ((ox + w) / TILE).floor() as i64,
                ((oy + h) / TILE).floor() as i64,
            );
            let mut tiles = Vec::new();
            for ty in ty0..=ty1 {
                if !(0..n).contains(&ty) {
                    continue;
                }
                for tx in tx0..=tx1 {
                    // Round the world sideways.
                    let x = tx.rem_euclid(n);
                    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                    tiles.push(Tile {
                        url: template
                            .replace("{z}", &zoom.to_string())
                            .replace("{x}", &x.to_string())
                            .replace("{y}", &ty.to_string()),
                        left: (tx as f64 * TILE - ox).round() as i64,
                        top: (ty as f64 * TILE - oy).round() as i64,
                    });
                }
            }
            #[allow(clippy::cast_possible_truncation)]
            let pins = pts
                .iter()
                .zip(&xy)
                .map(|(p, (x, y))| Pin {
                    n: p.0,
                    left: (x - ox).round() as i64,
                    top: (y - oy).round() as i64,
                })
                .collect();
            return Some(Map {
                width,
                height,
                zoom,
                tiles,
                pins,
            });
        }
        zoom -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn mercator_matches_the_tile_scheme() {
        // Greenwich on the equator is the middle of the world; Stockholm's tile at zoom 10
        // is 563/301 (as on any OpenStreetMap tile server).
        let (x, y) = project(0.0, 0.0, 1);
        assert!((x - 256.0).abs() < 1e-9 && (y - 256.0).abs() < 1e-9);
        let (x, y) = project(59.3293, 18.0686, 10);
        assert_eq!(((x / 256.0).floor(), (y / 256.0).floor()), (563.0, 301.0));
    }

    #[test]
    fn every_pin_is_on_the_map_and_the_tiles_cover_it() {
        let t = "https://tiles.example.org/{z}/{x}/{y}.png";
        let pts = [
            (1, dec!(55.996), dec!(13.285)),
            (2, dec!(55.7047), dec!(13.191)),
            (3, dec!(56.05), dec!(12.69)),
        ];
        let m = draw(&pts, t, 768, 512).unwrap();
        assert!(m.zoom >= 8 && m.zoom <= 12, "{}", m.zoom);
        for p in &m.pins {
            assert!(
                (40..=728).contains(&p.left) && (40..=472).contains(&p.top),
                "{p:?}"
            );
        }
        // The tiles cover the whole map, each once.
        for (x, y) in [(0, 0), (767, 0), (0, 511), (767, 511), (384, 256)] {
            let covering = m
                .tiles
                .iter()
                .filter(|t| {
                    (t.left..t.left + 256).contains(&x) && (t.top..t.top + 256).contains(&y)
                })
                .count();
            assert_eq!(covering, 1, "({x}, {y})");
        }
        assert!(m.tiles[0]
            .url
            .starts_with(&format!("https://tiles.example.org/{}/", m.zoom)));
        // One place: the closest zoom, centred.
        let one = draw(&pts[..1], t, 768, 512).unwrap();
        assert_eq!(
            (one.zoom, one.pins[0].left, one.pins[0].top),
            (15, 384, 256)
        );
        assert!(draw(&[], t, 768, 512).is_none());
    }

    #[test]
    fn a_tile_template_is_checked() {
        assert!(check_tiles("https://tile.openstreetmap.org/{z}/{x}/{y}.png").is_ok());
        assert!(check_tiles("https://tile.openstreetmap.org/{z}/{x}.png").is_err());
        assert!(check_tiles("ftp://tiles/{z}/{x}/{y}").is_err());
        assert!(check_tiles("not a url {z}{x}{y}").is_err());
        assert_eq!(
            tiles_origin("https://a.tiles.example.org:8443/{z}/{x}/{y}.png").as_deref(),
            Some("https://a.tiles.example.org:8443")
        );
    }
}
