//! What became of the last e-mail to an account, from the mail service's events (SES:
//! delivery, bounce, complaint, reject, delivery delay). Kept per account, shown to counter
//! officers in plain Indonesian ("Email terakhir ditolak permanen pada …: alamat tidak ada"),
//! audited when something went wrong, never shown through the public API. A staff e-mail
//! change clears it. The recorder of the events is [`crate::staff::mail_status`].

use crate::domain::email::Email;
use crate::text::i18n::{format_in, Lang, Zone};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The mail service's last word on an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    Delivered,
    /// Delivery is being retried by the mail service (a full mailbox, a slow server).
    Delayed,
    /// A temporary refusal: later mail may arrive.
    SoftBounce,
    /// A permanent refusal: the address does not exist or refuses mail.
    HardBounce,
    /// The recipient marked the mail as spam.
    Complaint,
    /// The mail service did not send it: the address is on its suppression list (an earlier
    /// hard bounce or complaint).
    Suppressed,
    /// The mail service refused the message itself.
    Rejected,
}

impl MailState {
    /// Whether an officer should act (the address needs checking or changing).
    pub fn is_problem(self) -> bool {
        !matches!(self, MailState::Delivered | MailState::Delayed)
    }

    pub fn code(self) -> &'static str {
        match self {
            MailState::Delivered => "delivered",
            MailState::Delayed => "delayed",
            MailState::SoftBounce => "soft_bounce",
            MailState::HardBounce => "hard_bounce",
            MailState::Complaint => "complaint",
            MailState::Suppressed => "suppressed",
            MailState::Rejected => "rejected",
        }
    }

    fn text(self, l: Lang) -> &'static str {
        match self {
            MailState::Delivered => l.pick("terkirim", "delivered"),
            MailState::Delayed => {
                l.pick("tertunda (sedang dicoba ulang)", "delayed (being retried)")
            }
            MailState::SoftBounce => l.pick("ditolak sementara", "refused for now"),
            MailState::HardBounce => l.pick("ditolak permanen", "refused permanently"),
            MailState::Complaint => l.pick(
                "dilaporkan sebagai spam oleh penerima",
                "reported as spam by the recipient",
            ),
            MailState::Suppressed => l.pick(
                "tidak dikirim: alamat ada di daftar blokir pengiriman",
                "not sent: the address is on the suppression list",
            ),
            MailState::Rejected => l.pick("ditolak layanan email", "rejected by the mail service"),
        }
    }
}

/// The last status of an account's mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailStatus {
    pub state: MailState,
    pub at: DateTime<Utc>,
    /// The address the event was about.
    pub address: Email,
    /// The receiving server's or the mail service's own words (e.g. `smtp; 550 5.1.1 user
    /// unknown`), at most 300 characters.
    pub diagnostic: Option<String>,
}

/// One event of the mail service about one recipient (an adapter parses the service's
/// format into these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEvent {
    pub to: Email,
    pub status: MailStatus,
}

/// The meaning of a common SMTP enhanced status code in a diagnostic.
fn diagnostic_meaning(d: &str, l: Lang) -> Option<&'static str> {
    let known: [(&str, &str, &str); 6] = [
        ("5.1.1", "alamat tidak ada", "the address does not exist"),
        ("5.1.10", "alamat tidak ada", "the address does not exist"),
        (
            "5.2.1",
            "kotak surat dinonaktifkan",
            "the mailbox is disabled",
        ),
        ("5.2.2", "kotak surat penuh", "the mailbox is full"),
        ("4.2.2", "kotak surat penuh", "the mailbox is full"),
        (
            "5.7.1",
            "ditolak oleh server penerima (kebijakan)",
            "refused by the receiving server (policy)",
        ),
    ];
    known
        .iter()
        .find(|(code, _, _)| {
            d.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .any(|w| w == *code)
        })
        .map(|(_, id, en)| l.pick(id, en))
}

impl MailStatus {
    /// `Email terakhir ditolak permanen pada 27 November 2026 pukul 10.02 WIB (bu***@example.go.id): alamat tidak ada`.
    pub fn text(&self, l: Lang, zone: Zone) -> String {
        format!(
            "{} {}",
            l.pick("Email terakhir", "Last e-mail"),
            self.describe(l, zone)
        )
    }

    /// The same without the subject: `ditolak permanen pada …: alamat tidak ada`.
    pub fn describe(&self, l: Lang, zone: Zone) -> String {
        let why = self
            .diagnostic
            .as_deref()
            .map(|d| match diagnostic_meaning(d, l) {
                Some(m) => format!(": {m}"),
                None => format!(": {}", crate::text::i18n::printable(d)),
            })
            .unwrap_or_default();
        let next = self
            .next_step(l)
            .map(|n| format!(". {n}"))
            .unwrap_or_default();
        format!(
            "{} {} {} ({}){why}{next}",
            self.state.text(l),
            l.pick("pada", "on"),
            format_in(self.at, l, zone),
            self.address.masked()
        )
    }

    /// What the officer does about it, when anything: a refused or suppressed address needs a
    /// working one (the e-mail change, after the identity check), and a suppression is lifted
    /// by that change.
    pub fn next_step(&self, l: Lang) -> Option<&'static str> {
        match self.state {
            MailState::HardBounce | MailState::Suppressed | MailState::Rejected => Some(l.pick(
                "Langkah berikut: tanyakan alamat email yang aktif kepada pegawai, periksa identitasnya, lalu `sapk-admin email change NIP ALAMAT_BARU` (penggantian juga mengeluarkan alamat baru dari daftar blokir SES)",
                "Next: ask the employee for a working address, check their identity, then `sapk-admin email change NIP NEW_ADDRESS` (the change also takes the new address off SES's suppression list)",
            )),
            MailState::Complaint => Some(l.pick(
                "Langkah berikut: pegawai menandai email SAPK sebagai spam; minta ia menandainya \"bukan spam\" atau memakai alamat lain (`sapk-admin email change`)",
                "Next: the employee marked SAPK's mail as spam; ask them to mark it \"not spam\" or to use another address (`sapk-admin email change`)",
            )),
            MailState::SoftBounce | MailState::Delayed => Some(l.pick(
                "Langkah berikut: biasanya kotak surat penuh atau server lambat; minta pegawai mengosongkan kotak suratnya lalu meminta kode lagi",
                "Next: usually a full mailbox or a slow server; ask the employee to free space and ask for a code again",
            )),
            MailState::Delivered => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_status_reads_in_plain_indonesian() {
        let s = MailStatus {
            state: MailState::HardBounce,
            at: Utc
                .with_ymd_and_hms(2026, 11, 27, 3, 2, 0)
                .single()
                .unwrap(),
            address: Email::parse("budi.santoso@example.go.id").unwrap(),
            diagnostic: Some("smtp; 550 5.1.1 <budi.santoso@example.go.id>: user unknown".into()),
        };
        let t = s.text(Lang::Id, Zone::Wib);
        assert!(
            t.starts_with("Email terakhir ditolak permanen pada 27 November 2026 pukul 10.02 WIB"),
            "{t}"
        );
        assert!(t.contains(": alamat tidak ada"), "{t}");
        assert!(
            s.describe(Lang::Id, Zone::Wib)
                .contains("Langkah berikut: tanyakan alamat email yang aktif"),
            "{}",
            s.describe(Lang::Id, Zone::Wib)
        );
        assert!(!t.contains("budi.santoso@"), "the address is masked: {t}");
        let other = MailStatus {
            diagnostic: Some("smtp; 421 try later".into()),
            state: MailState::SoftBounce,
            ..s
        };
        assert!(other
            .text(Lang::En, Zone::Wita)
            .contains(": smtp; 421 try later"));
    }
}
