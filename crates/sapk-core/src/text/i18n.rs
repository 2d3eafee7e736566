//! Language choice and the words people read. Indonesian first, English on request.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::Serialize;

/// BKN's call centre as MySAPK's own help text gives it ("Call Center : 021-8093008", the seed
/// document `mysapk-lupa-password.txt`): the default.
pub const HELP_PHONE: &str = "021-8093008";
/// BKN public relations' address as that text gives it ("Email: humasbknri@gmail.com"): the
/// default. (An `@bkn.go.id` address no public source confirms was used before.)
pub const HELP_EMAIL: &str = "humasbknri@gmail.com";

/// The product's name as the page, the e-mails and the answers say it (the default of
/// `SAPK_PRODUCT_NAME`).
pub const PRODUCT_NAME: &str = "SAPK Akun ASN";

/// BKN's line and address that help texts name, the page's address the e-mails link to and
/// the product's name, configured once per process (`SAPK_HELP_PHONE`, `SAPK_HELP_EMAIL`,
/// `SAPK_PUBLIC_URL`, `SAPK_PRODUCT_NAME`; [`HelpContacts::install`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpContacts {
    pub phone: String,
    pub email: String,
    /// The recovery page's address (`https://…/`); `None` where none is configured (the
    /// e-mails then name the page without a link).
    pub page_url: Option<String>,
    pub product: String,
}

impl Default for HelpContacts {
    fn default() -> Self {
        HelpContacts {
            phone: HELP_PHONE.to_owned(),
            email: HELP_EMAIL.to_owned(),
            page_url: None,
            product: PRODUCT_NAME.to_owned(),
        }
    }
}

static HELP: std::sync::OnceLock<HelpContacts> = std::sync::OnceLock::new();

impl HelpContacts {
    /// A telephone number as configured: digits, spaces, `+`, `-`, parentheses.
    pub fn phone_from(raw: &str) -> Option<String> {
        let t = raw.trim();
        (!t.is_empty()
            && t.chars().count() <= 24
            && t.chars().any(|c| c.is_ascii_digit())
            && t.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
        .then(|| t.to_owned())
    }

    /// Makes these the contacts every help text names in this process (the first
    /// configuration wins; building a service does it).
    pub fn install(&self) {
        let _ = HELP.set(self.clone());
    }

    /// The contacts in force.
    pub fn current() -> HelpContacts {
        HELP.get().cloned().unwrap_or_default()
    }
}
/// BKN's public complaint page, as the same text gives it ("Keluhan: …").
pub const HELP_URL: &str = "https://www.bkn.go.id/homepage/lapor-bkn";

/// Where a civil servant gets help, in the order to try: their own agency's HR unit (which
/// keeps their data), a BKN office, then BKN's general line and e-mail. Every text that
/// names help (the API's answers, the e-mails) takes it from here.
pub fn help_line(l: Lang) -> String {
    let HelpContacts { phone, email, .. } = HelpContacts::current();
    match l {
        Lang::Id => format!("Bantuan: unit kepegawaian (BKPSDM/Biro SDM) instansi Anda, kantor BKN terdekat, atau BKN di {phone} / {email}."),
        Lang::En => format!("Help: your agency's HR unit (BKPSDM/Biro SDM), the nearest BKN office, or BKN on {phone} / {email}."),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    /// Picks from an `Accept-Language` header: English only when it is preferred over
    /// Indonesian; Indonesian otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Id;
        };
        let mut best: Option<(f32, Lang)> = None;
        for (pos, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.trim().parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "id" || tag.starts_with("id-") || tag == "in" {
                Lang::Id
            } else {
                continue;
            };
            // Earlier entries win ties.
            let score = q - pos as f32 * 1e-4;
            if q > 0.0 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Id)
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "id" | "in" | "indonesia" => Some(Lang::Id),
            "en" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    pub fn pick(self, id: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
}

/// Invisible formatting characters that can reorder or hide text on a screen: bidi
/// embeddings, overrides and isolates, zero-width characters, the BOM.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{061C}'
        | '\u{FEFF}')
}

/// Code points Unicode marks `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt):
/// they draw nothing, so two names that look alike can differ by them.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Text safe to write to a terminal: control and invisible formatting characters become
/// U+FFFD, so stored data can neither move the cursor nor reorder what an officer reads.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// WIB (Asia/Jakarta) is UTC+7 all year: Indonesia has no daylight saving.
pub fn wib() -> FixedOffset {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => offset,
        None => Utc.fix(),
    }
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Indonesia's three time zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// Waktu Indonesia Barat, UTC+7 (Sumatra, Java, West and Central Kalimantan).
    #[default]
    Wib,
    /// Waktu Indonesia Tengah, UTC+8 (Bali, Nusa Tenggara, Sulawesi, East, North and South
    /// Kalimantan).
    Wita,
    /// Waktu Indonesia Timur, UTC+9 (Maluku, Papua).
    Wit,
}

// BKN's 14 regional offices: I Yogyakarta, II Surabaya, III Bandung, IV Makassar,
// V Jakarta, VI Medan, VII Palembang, VIII Banjarmasin, IX Jayapura, X Denpasar,
// XI Manado, XII Pekanbaru, XIII Banda Aceh, XIV Manokwari.
const KANREG_ZONES: [Zone; 14] = [
    Zone::Wib,
    Zone::Wib,
    Zone::Wib,
    Zone::Wita,
    Zone::Wib,
    Zone::Wib,
    Zone::Wib,
    Zone::Wita,
    Zone::Wit,
    Zone::Wita,
    Zone::Wita,
    Zone::Wib,
    Zone::Wib,
    Zone::Wit,
];

/// Province and city words of offices in WITA.
const WITA_WORDS: &[&str] = &[
    "BALI",
    "DENPASAR",
    "NTB",
    "MATARAM",
    "NTT",
    "KUPANG",
    "KALSEL",
    "BANJARMASIN",
    "BANJARBARU",
    "KALTIM",
    "SAMARINDA",
    "BALIKPAPAN",
    "KALTARA",
    "TARAKAN",
    "SULUT",
    "MANADO",
    "SULTENG",
    "PALU",
    "SULSEL",
    "MAKASSAR",
    "SULTRA",
    "KENDARI",
    "SULBAR",
    "MAMUJU",
    "GORONTALO",
    "SULAWESI",
];

/// Province and city words of offices in WIT.
const WIT_WORDS: &[&str] = &[
    "MALUKU",
    "MALUT",
    "AMBON",
    "TERNATE",
    "SOFIFI",
    "PAPUA",
    "JAYAPURA",
    "MANOKWARI",
    "SORONG",
    "MERAUKE",
    "NABIRE",
    "WAMENA",
    "TIMIKA",
];

impl Zone {
    pub fn hours(self) -> i32 {
        match self {
            Zone::Wib => 7,
            Zone::Wita => 8,
            Zone::Wit => 9,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Zone::Wib => "WIB",
            Zone::Wita => "WITA",
            Zone::Wit => "WIT",
        }
    }

    /// The zone of an office, from its code: a BKN regional office (`KANREG-IV`, `Kanreg
    /// IV Makassar`, `KANREG-4`) by its number, another office by a province or city word
    /// in its code (`BKPSDM-KOTA-MAKASSAR`, `BKD-PROV-PAPUA`). `None` when the code says
    /// nothing of its place (then WIB is the default).
    pub fn of_office(code: &str) -> Option<Zone> {
        let words: Vec<String> = code
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_uppercase)
            .collect();
        if let Some(i) = words.iter().position(|w| w == "KANREG") {
            let n = words.get(i + 1).and_then(|w| roman_or_number(w));
            if let Some(z) = n.and_then(|n| KANREG_ZONES.get(n.checked_sub(1)?)) {
                return Some(*z);
            }
        }
        words.iter().find_map(|w| {
            if WITA_WORDS.contains(&w.as_str()) {
                Some(Zone::Wita)
            } else if WIT_WORDS.contains(&w.as_str()) {
                Some(Zone::Wit)
            } else {
                None
            }
        })
    }

    fn offset(self) -> FixedOffset {
        match FixedOffset::east_opt(self.hours() * 3600) {
            Some(offset) => offset,
            None => Utc.fix(),
        }
    }
}

/// A time for tables in a zone: `2026-11-28 10:05:00 WITA`.
pub fn format_compact(t: DateTime<Utc>, zone: Zone) -> String {
    format!(
        "{} {}",
        t.with_timezone(&zone.offset()).format("%Y-%m-%d %H:%M:%S"),
        zone.name()
    )
}

pub fn format_wib(t: DateTime<Utc>, lang: Lang) -> String {
    format_in(t, lang, Zone::Wib)
}

/// A time as a person reads it: `27 November 2026 pukul 16.05 WIB`.
/// A time for someone whose zone is not known, in all three zones: `27 November 2026 pukul
/// 16.05 WIB / 17.05 WITA / 18.05 WIT` (a zone already on the next day says its date).
pub fn format_all_zones(t: DateTime<Utc>, lang: Lang) -> String {
    use chrono::{Datelike, Timelike};
    let wib = t.with_timezone(&Zone::Wib.offset());
    let mut out = format_in(t, lang, Zone::Wib);
    if lang == Lang::En {
        // `…, 16:05 WIB (UTC+7)`: the offsets follow once, after the list.
        out.truncate(out.rfind(" (UTC").unwrap_or(out.len()));
    }
    for zone in [Zone::Wita, Zone::Wit] {
        let local = t.with_timezone(&zone.offset());
        let clock = match lang {
            Lang::Id => format!("{:02}.{:02} {}", local.hour(), local.minute(), zone.name()),
            Lang::En => format!("{:02}:{:02} {}", local.hour(), local.minute(), zone.name()),
        };
        if local.day() == wib.day() {
            out.push_str(&format!(" / {clock}"));
        } else {
            let m = local.month0() as usize;
            let month = match lang {
                Lang::Id => MONTHS_ID[m],
                Lang::En => MONTHS_EN[m],
            };
            out.push_str(&format!(" / {} {month} {clock}", local.day()));
        }
    }
    if lang == Lang::En {
        out.push_str(" (UTC+7/+8/+9)");
    }
    out
}

pub fn format_in(t: DateTime<Utc>, lang: Lang, zone: Zone) -> String {
    use chrono::{Datelike, Timelike};
    let local = t.with_timezone(&zone.offset());
    let m = local.month0() as usize;
    match lang {
        Lang::Id => format!(
            "{} {} {} pukul {:02}.{:02} {}",
            local.day(),
            MONTHS_ID[m],
            local.year(),
            local.hour(),
            local.minute(),
            zone.name()
        ),
        Lang::En => format!(
            "{} {} {}, {:02}:{:02} {} (UTC+{})",
            local.day(),
            MONTHS_EN[m],
            local.year(),
            local.hour(),
            local.minute(),
            zone.name(),
            zone.hours()
        ),
    }
}

/// A calendar date in words, for officers comparing with documents.
pub fn format_date(d: chrono::NaiveDate, lang: Lang) -> String {
    use chrono::Datelike;
    let m = d.month0() as usize;
    match lang {
        Lang::Id => format!("{} {} {}", d.day(), MONTHS_ID[m], d.year()),
        Lang::En => format!("{} {} {}", d.day(), MONTHS_EN[m], d.year()),
    }
}

pub fn month_year(year: i32, month: u32, lang: Lang) -> String {
    let idx = (month.clamp(1, 12) - 1) as usize;
    match lang {
        Lang::Id => format!("{} {}", MONTHS_ID[idx], year),
        Lang::En => format!("{} {}", MONTHS_EN[idx], year),
    }
}

/// `IV` or `4` as 4.
fn roman_or_number(w: &str) -> Option<usize> {
    if let Ok(n) = w.parse::<usize>() {
        return Some(n);
    }
    let value = |c: char| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        _ => None,
    };
    let digits: Option<Vec<usize>> = w.chars().map(value).collect();
    let digits = digits?;
    let mut total = 0;
    for (i, d) in digits.iter().enumerate() {
        if digits.get(i + 1).is_some_and(|next| next > d) {
            total -= *d as isize;
        } else {
            total += *d as isize;
        }
    }
    usize::try_from(total).ok().filter(|n| *n > 0)
}

/// An address made coarse: the /24 of an IPv4 address, the /48 of an IPv6 one.
pub fn coarse_source(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.x")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:…", s[0], s[1], s[2])
        }
        Err(_) => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::Id);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("id-ID,id;q=0.9,en;q=0.8")),
            Lang::Id
        );
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::Id);
        assert_eq!(Lang::from_accept_language(Some("en;q=0, id")), Lang::Id);
        assert_eq!(Lang::from_accept_language(Some("%%%;;;q=x")), Lang::Id);
    }

    #[test]
    fn the_three_zones() {
        let t = DateTime::parse_from_rfc3339("2026-11-27T09:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_compact(t, Zone::Wita), "2026-11-27 17:05:00 WITA");
        for (office, zone) in [
            ("KANREG-I", Some(Zone::Wib)),
            ("KANREG-IV", Some(Zone::Wita)),
            ("Kanreg IX Jayapura", Some(Zone::Wit)),
            ("KANREG-14", Some(Zone::Wit)),
            ("KANREG-XIII", Some(Zone::Wib)),
            ("KANREG-XV", None),
            ("BKPSDM-KOTA-MAKASSAR", Some(Zone::Wita)),
            ("BKD-PROV-PAPUA-BARAT", Some(Zone::Wit)),
            ("BKPSDM-KOTA-BANDUNG", None),
            ("", None),
        ] {
            assert_eq!(Zone::of_office(office), zone, "{office}");
        }
        assert_eq!(
            format_in(t, Lang::Id, Zone::Wit),
            "27 November 2026 pukul 18.05 WIT"
        );
        assert_eq!(
            format_in(t, Lang::En, Zone::Wita),
            "27 November 2026, 17:05 WITA (UTC+8)"
        );
    }

    #[test]
    fn wib_formatting() {
        let t = DateTime::parse_from_rfc3339("2026-11-27T09:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_wib(t, Lang::Id), "27 November 2026 pukul 16.05 WIB");
        assert_eq!(
            format_wib(t, Lang::En),
            "27 November 2026, 16:05 WIB (UTC+7)"
        );
        let late = DateTime::parse_from_rfc3339("2026-12-31T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_wib(late, Lang::Id), "1 Januari 2027 pukul 03.00 WIB");
        assert_eq!(
            format_all_zones(t, Lang::Id),
            "27 November 2026 pukul 16.05 WIB / 17.05 WITA / 18.05 WIT"
        );
        assert_eq!(
            format_all_zones(t, Lang::En),
            "27 November 2026, 16:05 WIB / 17:05 WITA / 18:05 WIT (UTC+7/+8/+9)"
        );
        let near_midnight = t + chrono::Duration::minutes(7 * 60 + 30); // 23.35 WIB
        assert_eq!(
            format_all_zones(near_midnight, Lang::Id),
            "27 November 2026 pukul 23.35 WIB / 28 November 00.35 WITA / 28 November 01.35 WIT"
        );
    }
}
