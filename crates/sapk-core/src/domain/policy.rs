//! The password policy: MySAPK's rule (an uppercase letter and a digit), NIST SP 800-63B's
//! floor (length, no common or guessable passwords) and a strength estimate (zxcvbn) that
//! knows the account's context and Indonesian words.
//!
//! What an attacker knows about a civil servant is public (the NIP, and with it the birth
//! date; the name; the e-mail; in 2024 millions of these leaked), so a password made mostly
//! of it is refused: the context is given to the estimator as the most likely guesses. So are
//! Indonesian words and names (a maintained list, `data/words-id.txt`, ranked by frequency),
//! the service's own names, months, days and patriotic dates. Several unrelated words and a
//! number still make a strong password.

use crate::domain::email::Email;
use crate::domain::nip::Nip;
use crate::domain::password::Password;
use chrono::Datelike;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Only this many characters are scored: beyond it the estimator's cost grows while the
/// other rules (and the scored prefix itself) already decide. Keeps a crafted 128-character
/// input to milliseconds.
pub const SCORED_PREFIX: usize = 32;

/// A rule the new password breaks; the names are part of the API (`violations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    TooShort,
    TooLong,
    NoUppercase,
    NoDigit,
    TooGuessable,
    /// The password appeared in a data breach (or is one this project showed as an example):
    /// [`crate::domain::breached`].
    Breached,
    /// The new password is the current one (a change).
    SameAsCurrent,
}

/// What made a password guessable, as the refusal names it (`guessable`): the person's name,
/// birth date, NIP or e-mail, a common word or password, or a keyboard pattern, sequence or
/// repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuessHint {
    Name,
    BirthDate,
    Nip,
    Email,
    CommonWord,
    Pattern,
}

impl GuessHint {
    pub fn code(self) -> &'static str {
        match self {
            GuessHint::Name => "name",
            GuessHint::BirthDate => "birth_date",
            GuessHint::Nip => "nip",
            GuessHint::Email => "email",
            GuessHint::CommonWord => "common_word",
            GuessHint::Pattern => "pattern",
        }
    }
}

impl Violation {
    pub fn code(self) -> &'static str {
        match self {
            Violation::TooShort => "too_short",
            Violation::TooLong => "too_long",
            Violation::NoUppercase => "no_uppercase",
            Violation::NoDigit => "no_digit",
            Violation::TooGuessable => "too_guessable",
            Violation::Breached => "breached",
            Violation::SameAsCurrent => "same_as_current",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Characters (Unicode scalar values after NFKC); 12 by default (BKN's ASN Digital rule
    /// since April 2025; NIST SP 800-63B-4 asks 15 for a password as the only factor), never
    /// below the seed's 6.
    pub min_len: usize,
    pub max_len: usize,
    /// Minimum zxcvbn score (0-4).
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: 12,
            max_len: 128,
            min_score: 3,
        }
    }
}

/// Words every Indonesian guesser tries first: the service's own names, words people use
/// for passwords, month abbreviations, days and patriotic dates (the month names are
/// `MONTHS`). Closed sets, ranked before the word list.
const LOCAL_GUESSES: &[&str] = &[
    "sapk",
    "mysapk",
    "bkn",
    "asn",
    "pns",
    "pppk",
    "cpns",
    "nip",
    "siasn",
    "simpeg",
    "bkpsdm",
    "kanreg",
    "pemda",
    "pemkot",
    "pemkab",
    "kemenpan",
    "password",
    "katasandi",
    "sandi",
    "rahasia",
    "admin",
    "indonesia",
    "merdeka",
    "pancasila",
    "garuda",
    "nusantara",
    "bismillah",
    "alhamdulillah",
    "sayang",
    "cinta",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "agu",
    "agt",
    "ags",
    "sep",
    "okt",
    "nov",
    "des",
    "senin",
    "selasa",
    "rabu",
    "kamis",
    "jumat",
    "sabtu",
    "minggu",
    "ahad",
    "17081945",
    "170845",
    "1708",
    "1945",
    "28101928",
    "1928",
    "01061945",
    "10111945",
    "20051908",
    "02051889",
];

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maret",
    "april",
    "mei",
    "juni",
    "juli",
    "agustus",
    "september",
    "oktober",
    "november",
    "desember",
];

/// Indonesian words and names with their frequency rank (1 = most common).
static WORDS: LazyLock<HashMap<&'static str, u32>> = LazyLock::new(|| {
    let mut ranks = HashMap::new();
    let mut rank = 0u32;
    for line in include_str!("../../data/words-id.txt").lines() {
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        rank += 1;
        ranks.entry(line).or_insert(rank);
    }
    ranks
});

/// Parses the word list now (about 25,000 entries) instead of at the first password check.
pub fn load_word_list() -> usize {
    WORDS.len()
}

/// What an attacker knows about the account, most telling first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyContext {
    tokens: Vec<String>,
    /// What each token is (the same order).
    kinds: Vec<GuessHint>,
}

impl PolicyContext {
    /// What the NIP itself tells: its pieces and every common form of the birth date. The
    /// same for every NIP, whether or not an account exists.
    pub fn for_nip(nip: &Nip) -> PolicyContext {
        let mut c = PolicyContext::default();
        for p in nip.pieces() {
            c.push(p, GuessHint::Nip);
        }
        c.push_date(nip.facts().birth_date);
        c.push(&nip.facts().appointment_year.to_string(), GuessHint::Nip);
        c
    }

    /// Adds a person's name: each part, joined in order and reversed, with the usual
    /// separators, and initials.
    pub fn with_name(mut self, name: &str) -> PolicyContext {
        let parts: Vec<String> = name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| p.chars().count() >= 2)
            .map(str::to_lowercase)
            .collect();
        if parts.is_empty() {
            return self;
        }
        for p in &parts {
            self.push(p, GuessHint::Name);
        }
        let reversed: Vec<String> = parts.iter().rev().cloned().collect();
        for sep in ["", ".", "_", "-", " "] {
            self.push(&parts.join(sep), GuessHint::Name);
            self.push(&reversed.join(sep), GuessHint::Name);
        }
        let initials: String = parts.iter().filter_map(|p| p.chars().next()).collect();
        self.push(&initials, GuessHint::Name);
        if parts.len() > 1 {
            let first = &parts[0];
            let last = &parts[parts.len() - 1];
            let rest: String = parts[1..].iter().filter_map(|p| p.chars().next()).collect();
            let first_initial: String = first.chars().take(1).collect();
            self.push(&format!("{first}{rest}"), GuessHint::Name);
            for sep in ["", ".", "_", "-", " "] {
                self.push(&format!("{first_initial}{sep}{last}"), GuessHint::Name);
            }
        }
        self
    }

    /// Adds the e-mail's local part and its pieces.
    pub fn with_email(mut self, email: &Email) -> PolicyContext {
        if let Some((local, _)) = email.as_str().split_once('@') {
            let local = local.to_lowercase();
            for piece in local.split(['.', '_', '-', '+']) {
                self.push(piece, GuessHint::Email);
            }
            self.push(&local.replace(['.', '_', '-', '+'], ""), GuessHint::Email);
            self.push(&local, GuessHint::Email);
        }
        self
    }

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    fn push(&mut self, token: &str, kind: GuessHint) {
        let t = token.trim().to_lowercase();
        if t.chars().count() >= 2 && !self.tokens.contains(&t) {
            self.tokens.push(t);
            self.kinds.push(kind);
        }
    }

    /// The kinds of the tokens of at least three characters that `variants` contain.
    fn kinds_in(&self, variants: &[String]) -> Vec<GuessHint> {
        self.tokens
            .iter()
            .zip(&self.kinds)
            .filter(|(t, _)| {
                t.chars().count() >= 3 && variants.iter().any(|v| v.contains(t.as_str()))
            })
            .map(|(_, k)| *k)
            .collect()
    }

    fn push_date(&mut self, d: chrono::NaiveDate) {
        let (y, m, day) = (d.year(), d.month(), d.day());
        let yy = y.rem_euclid(100);
        let month = MONTHS[(m - 1) as usize];
        let forms = [
            format!("{day:02}{m:02}{y}"),
            format!("{y}{m:02}{day:02}"),
            format!("{day:02}{m:02}{yy:02}"),
            format!("{yy:02}{m:02}{day:02}"),
            format!("{m:02}{day:02}{y}"),
            format!("{day}{m}{y}"),
            format!("{day}{m}{yy:02}"),
            format!("{y}"),
            format!("{day:02}{m:02}"),
            format!("{m:02}{day:02}"),
            format!("{m:02}{y}"),
            format!("{y}{m:02}"),
            format!("{day:02}{month}{y}"),
            format!("{day}{month}{y}"),
            format!("{day}{month}"),
            format!("{day:02}{}{yy:02}", &month[..3]),
        ];
        for f in forms {
            self.push(&f, GuessHint::BirthDate);
        }
        for sep in ['-', '/', '.', ' '] {
            self.push(
                &format!("{day:02}{sep}{m:02}{sep}{y}"),
                GuessHint::BirthDate,
            );
            self.push(
                &format!("{day:02}{sep}{m:02}{sep}{yy:02}"),
                GuessHint::BirthDate,
            );
            self.push(&format!("{day}{sep}{m}{sep}{y}"), GuessHint::BirthDate);
            self.push(
                &format!("{y}{sep}{m:02}{sep}{day:02}"),
                GuessHint::BirthDate,
            );
        }
    }
}

/// The ways a guesser rewrites letters as digits and symbols, undone (two readings of `1`,
/// `|` and `7`).
fn unleet(s: &str, one_as_l: bool) -> String {
    s.chars()
        .map(|c| match c {
            '4' | '@' => 'a',
            '8' => 'b',
            '(' | '{' | '[' | '<' => 'c',
            '3' => 'e',
            '6' | '9' => 'g',
            '1' | '!' | '|' if !one_as_l => 'i',
            '1' | '|' | '7' if one_as_l => 'l',
            '0' => 'o',
            '$' | '5' => 's',
            '+' | '7' => 't',
            '%' => 'x',
            '2' => 'z',
            other => other,
        })
        .collect()
}

/// The listed Indonesian words found anywhere in `s` (as written, with letters undone from
/// digits and symbols, or reversed), with their ranks.
fn words_in(s: &str) -> Vec<(&'static str, u32)> {
    let lower = s.to_lowercase();
    let reversed: String = lower.chars().rev().collect();
    let variants = [
        unleet(&lower, false),
        unleet(&lower, true),
        reversed.clone(),
        unleet(&reversed, false),
    ];
    let mut found: HashSet<(&'static str, u32)> = HashSet::new();
    for v in std::iter::once(&lower).chain(variants.iter()) {
        let chars: Vec<char> = v.chars().collect();
        for i in 0..chars.len() {
            let mut word = String::new();
            for (j, c) in chars[i..].iter().enumerate() {
                word.push(*c);
                if j + 1 >= 3 {
                    if let Some((w, r)) = WORDS.get_key_value(word.as_str()) {
                        found.insert((w, *r));
                    }
                }
                if j + 1 >= 20 {
                    break;
                }
            }
        }
    }
    let mut found: Vec<_> = found.into_iter().collect();
    found.sort_by_key(|&(_, r)| r);
    found
}

/// Known tokens and their ranks: the context and the local guesses first (ranks 1, 2, ...),
/// then the Indonesian words found in the password at their own frequency rank.
fn known_tokens<'a>(ctx: &'a PolicyContext, words: &[(&'a str, u32)]) -> Vec<(&'a str, u64)> {
    let mut out: Vec<(&str, u64)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let firsts = ctx
        .tokens()
        .iter()
        .map(String::as_str)
        .chain(LOCAL_GUESSES.iter().copied())
        .chain(MONTHS.iter().copied());
    for t in firsts {
        if seen.insert(t) {
            out.push((t, out.len() as u64 + 1));
        }
    }
    let base = out.len() as u64;
    for &(w, rank) in words {
        if seen.insert(w) {
            out.push((w, base + u64::from(rank)));
        }
    }
    out
}

/// log10 of n!
fn log10_factorial(n: usize) -> f64 {
    (2..=n).map(|k| (k as f64).log10()).sum()
}

/// A string with the byte offset of each character, to slice by character index without
/// allocating.
struct Indexed {
    text: String,
    offsets: Vec<usize>,
}

impl Indexed {
    fn new(chars: impl Iterator<Item = char>) -> Indexed {
        let text: String = chars.collect();
        let mut offsets: Vec<usize> = text.char_indices().map(|(o, _)| o).collect();
        offsets.push(text.len());
        Indexed { text, offsets }
    }

    fn slice(&self, i: usize, j: usize) -> &str {
        &self.text[self.offsets[i]..self.offsets[j]]
    }
}

/// The longest known token looked up (context forms and words are shorter).
const MAX_TOKEN_CHARS: usize = 24;

/// How many guesses a guesser who knows `known` needs for `s`, by the cheapest split into
/// known tokens (rank, times 2 for capitals, a rewritten or reversed form), digit runs (a
/// year, a sequence) and brute force (10 per character), times the orderings of the parts:
/// zxcvbn's model without its additive term for the number of parts, which lets a known
/// word with a year and a symbol pass as strong. Returns log10.
fn strict_guesses_log10(s: &str, known: &[(&str, u64)]) -> f64 {
    let forms = Forms::new(s, known);
    let chars = &forms.chars;
    let n = chars.len();
    if n == 0 {
        return 0.0;
    }
    // A run of separators and symbols between parts is glue: brute force, but no part of
    // its own in the count of orderings.
    let glue = |i: usize, j: usize| chars[i..j].iter().all(|c| !c.is_alphanumeric());
    // best[j][k]: fewest guesses (log10) covering chars[..j] with k parts.
    let inf = f64::INFINITY;
    let mut best = vec![vec![inf; n + 1]; n + 1];
    best[0][0] = 0.0;
    for j in 1..=n {
        for i in 0..j {
            let p = forms.part(i, j);
            let adds = usize::from(!glue(i, j));
            for k in 0..j.min(n) {
                if best[i][k] < inf {
                    let v = best[i][k] + p;
                    if v < best[j][k + adds] {
                        best[j][k + adds] = v;
                    }
                }
            }
        }
    }
    (0..=n)
        .map(|k| best[n][k] + log10_factorial(k))
        .fold(inf, f64::min)
}

/// A password's characters in the forms a guesser tries: as typed, lower case, with the
/// letter rewrites undone (two readings of `1`), reversed; and the known tokens' ranks.
struct Forms<'a> {
    chars: Vec<char>,
    lower: Vec<char>,
    low: Indexed,
    leet_i: Indexed,
    leet_l: Indexed,
    rev: Indexed,
    ranks: HashMap<&'a str, u64>,
}

impl<'a> Forms<'a> {
    fn new(s: &str, known: &[(&'a str, u64)]) -> Forms<'a> {
        let chars: Vec<char> = s.chars().collect();
        // Lower case character by character, so that every form has the same length.
        let lower: Vec<char> = chars
            .iter()
            .map(|c| {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(one), None) => one,
                    _ => *c,
                }
            })
            .collect();
        let low = Indexed::new(lower.iter().copied());
        Forms {
            leet_i: Indexed::new(unleet(&low.text, false).chars()),
            leet_l: Indexed::new(unleet(&low.text, true).chars()),
            rev: Indexed::new(lower.iter().rev().copied()),
            ranks: known.iter().copied().collect(),
            chars,
            lower,
            low,
        }
    }

    /// The cheapest single part for chars[i..j] (log10 of its guesses): brute force, a
    /// known token in one of its forms, or a run of digits.
    fn part(&self, i: usize, j: usize) -> f64 {
        let len = j - i;
        let mut best = len as f64; // brute force: 10^len
        if (2..=MAX_TOKEN_CHARS).contains(&len) {
            best = best.min(self.token(i, j));
        }
        if len >= 3 && self.chars[i..j].iter().all(char::is_ascii_digit) {
            best = best.min(digit_run_log10(&self.chars[i..j]));
        }
        best
    }

    /// chars[i..j] as a known token: its rank, times 2 for capitals (10 for odd ones) and 2
    /// for a rewritten or reversed form; infinite if unknown.
    fn token(&self, i: usize, j: usize) -> f64 {
        let (chars, lower, n) = (&self.chars, &self.lower, self.chars.len());
        let caps = if chars[i..j] == lower[i..j] {
            1.0
        } else if chars[i + 1..j] == lower[i + 1..j]
            || chars[i..j].iter().all(|c| !c.is_lowercase())
        {
            2.0
        } else {
            10.0
        };
        let forms = [
            (self.low.slice(i, j), 1.0),
            (self.leet_i.slice(i, j), 2.0),
            (self.leet_l.slice(i, j), 2.0),
            (self.rev.slice(n - j, n - i), 2.0),
        ];
        forms
            .into_iter()
            .filter_map(|(form, extra)| {
                self.ranks
                    .get(form)
                    .map(|r| (*r as f64 * caps * extra).log10())
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// Guesses (log10) for a run of three or more digits: a year (1900-2099), an ascending or
/// descending sequence or a repeated digit; infinite otherwise.
fn digit_run_log10(run: &[char]) -> f64 {
    let digits: Vec<i32> = run
        .iter()
        .filter_map(|c| c.to_digit(10))
        .map(|d| d as i32)
        .collect();
    let mut best = f64::INFINITY;
    if digits.len() == 4 && (1900..=2099).contains(&digits.iter().fold(0, |a, d| a * 10 + d)) {
        best = best.min(50f64.log10());
    }
    let step = digits[1] - digits[0];
    if step.abs() <= 1 && digits.windows(2).all(|w| w[1] - w[0] == step) {
        best = best.min((10.0 * digits.len() as f64).log10());
    }
    best
}

const MAX_LEET_SYMBOLS_FOR_ZXCVBN: usize = 8;

fn distinct_leet_symbols(s: &str) -> usize {
    const LEET: &str = "4@8({[<3691!|0$5+7%2";
    let found: HashSet<char> = s.chars().filter(|c| LEET.contains(*c)).collect();
    found.len()
}

fn score_of(log10: f64) -> u8 {
    match log10 {
        g if g < 3.0 => 0,
        g if g < 6.0 => 1,
        g if g < 8.0 => 2,
        g if g < 10.0 => 3,
        _ => 4,
    }
}

impl PasswordPolicy {
    /// Checks `pw`. A password made mostly of `ctx`, of common passwords or of Indonesian
    /// words is too guessable. Costs at most a few milliseconds (`SCORED_PREFIX`): call it
    /// off the async executor.
    pub fn check(&self, pw: &Password, ctx: &PolicyContext) -> Result<(), Vec<Violation>> {
        let s = pw.expose();
        let len = s.chars().count();
        let mut v = Vec::new();
        if len < self.min_len {
            v.push(Violation::TooShort);
        }
        if len > self.max_len {
            v.push(Violation::TooLong);
        }
        if !s.chars().any(char::is_uppercase) {
            v.push(Violation::NoUppercase);
        }
        if !s.chars().any(char::is_numeric) {
            v.push(Violation::NoDigit);
        }
        if len <= self.max_len && len > 0 && self.score(s, ctx) < self.min_score {
            v.push(Violation::TooGuessable);
        }
        if crate::domain::breached::is_breached(s) {
            v.push(Violation::Breached);
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(v)
        }
    }

    /// What made `s` guessable, for the refusal to name (each at most once, in the order of
    /// [`GuessHint`]): parts of `ctx` it contains (also reversed or with letters rewritten),
    /// common words and passwords, and keyboard patterns, sequences and repetitions.
    pub fn hints(&self, s: &str, ctx: &PolicyContext) -> Vec<GuessHint> {
        let prefix: String = s.chars().take(SCORED_PREFIX).collect();
        let lower = prefix.to_lowercase();
        let reversed: String = lower.chars().rev().collect();
        let variants = [
            unleet(&lower, false),
            unleet(&lower, true),
            reversed,
            lower.clone(),
        ];
        let mut found = ctx.kinds_in(&variants);
        if words_in(&prefix)
            .iter()
            .any(|(w, _)| w.chars().count() >= 4)
        {
            found.push(GuessHint::CommonWord);
        }
        if distinct_leet_symbols(&prefix) <= MAX_LEET_SYMBOLS_FOR_ZXCVBN {
            for m in zxcvbn::zxcvbn(&prefix, &[]).sequence() {
                match &m.pattern {
                    zxcvbn::matching::patterns::MatchPattern::Dictionary(_)
                        if m.token.chars().count() >= 4 =>
                    {
                        found.push(GuessHint::CommonWord);
                    }
                    zxcvbn::matching::patterns::MatchPattern::Spatial(_)
                    | zxcvbn::matching::patterns::MatchPattern::Repeat(_)
                    | zxcvbn::matching::patterns::MatchPattern::Sequence(_) => {
                        found.push(GuessHint::Pattern);
                    }
                    _ => {}
                }
            }
        }
        let all = [
            GuessHint::Name,
            GuessHint::BirthDate,
            GuessHint::Nip,
            GuessHint::Email,
            GuessHint::CommonWord,
            GuessHint::Pattern,
        ];
        all.into_iter().filter(|h| found.contains(h)).collect()
    }

    /// The strength score (0-4, zxcvbn's scale) of the scored prefix: the lower of zxcvbn's
    /// estimate (with the account's dictionary, its parts' guesses multiplied out) and the
    /// cheapest split into known tokens.
    pub fn score(&self, s: &str, ctx: &PolicyContext) -> u8 {
        let prefix: String = s.chars().take(SCORED_PREFIX).collect();
        let words = words_in(&prefix);
        let known = known_tokens(ctx, &words);
        // zxcvbn gets the context and the local guesses (its own dictionaries cover common
        // passwords and English); the Indonesian words, at their true ranks, are left to the
        // split below, which keeps zxcvbn's dictionary small and its cost low.
        let strict = strict_guesses_log10(&prefix, &known);
        // zxcvbn's rewritten-letter matcher grows exponentially with the number of distinct
        // rewritable symbols (20 ms at 17 of them); beyond 8 the split alone decides, which
        // undoes the same rewrites for the context and the Indonesian words.
        if distinct_leet_symbols(&prefix) > MAX_LEET_SYMBOLS_FOR_ZXCVBN {
            return score_of(strict);
        }
        // zxcvbn ranks its extra dictionary by position: the context and the local guesses
        // come first in `known`, ranked 1, 2, ... in order (the words found follow at their
        // own, higher ranks, and are left to the split).
        let inputs: Vec<&str> = known
            .iter()
            .enumerate()
            .take_while(|(i, (_, rank))| *rank == *i as u64 + 1)
            .map(|(_, (w, _))| *w)
            .collect();
        let z = zxcvbn::zxcvbn(&prefix, &inputs);
        let parts = z.sequence();
        let zxcvbn_log10 = parts
            .iter()
            .map(|m| (m.guesses.unwrap_or(1).max(1) as f64).log10())
            .sum::<f64>()
            + log10_factorial(parts.len());
        score_of(zxcvbn_log10.min(z.guesses_log10()).min(strict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budi() -> PolicyContext {
        let nip = Nip::from_stored("198609262015051001").unwrap();
        PolicyContext::for_nip(&nip)
            .with_name("Budi Santoso")
            .with_email(&Email::parse("budi.santoso@example.go.id").unwrap())
    }

    #[test]
    fn a_guessable_password_is_told_what_made_it_so() {
        let p = PasswordPolicy::default();
        let ctx = budi();
        assert_eq!(
            p.hints("Budisantoso1986", &ctx),
            vec![GuessHint::Name, GuessHint::BirthDate, GuessHint::CommonWord]
        );
        assert!(p
            .hints("Sant0so-26091986", &ctx)
            .contains(&GuessHint::BirthDate));
        assert!(p
            .hints("Wkz-aaaaaaaaa-7", &ctx)
            .contains(&GuessHint::Pattern));
        assert!(p.hints("X198609262015Z", &ctx).contains(&GuessHint::Nip));
        let mail = PolicyContext::for_nip(&Nip::from_stored("198609262015051001").unwrap())
            .with_email(&Email::parse("kucingoranye77@example.go.id").unwrap());
        assert!(p
            .hints("Kucingoranye77!", &mail)
            .contains(&GuessHint::Email));
        // Every rule at once: the case, the length and the guessing together.
        let r = p
            .check(&Password::new("budisantoso1986"), &ctx)
            .unwrap_err();
        assert!(r.contains(&Violation::NoUppercase), "{r:?}");
        assert!(r.contains(&Violation::TooGuessable), "{r:?}");
    }

    fn guessable(pw: &str, ctx: &PolicyContext) -> bool {
        PasswordPolicy::default()
            .check(&Password::new(pw), ctx)
            .err()
            .is_some_and(|v| v.contains(&Violation::TooGuessable))
    }

    #[test]
    fn each_rule() {
        let p = PasswordPolicy::default();
        let none = PolicyContext::default();
        assert_eq!(
            p.check(&Password::new("Ab1"), &none),
            Err(vec![Violation::TooShort, Violation::TooGuessable])
        );
        assert_eq!(
            p.check(&Password::new("kuda-laut-terbang-9"), &none),
            Err(vec![Violation::NoUppercase])
        );
        assert_eq!(
            p.check(&Password::new("Kuda-Laut-Terbang"), &none),
            Err(vec![Violation::NoDigit])
        );
        let long = format!("A1{}", "x".repeat(127));
        assert_eq!(
            p.check(&Password::new(&long), &none),
            Err(vec![Violation::TooLong])
        );
        assert_eq!(
            p.check(&Password::new("Sungai-Kapuas-Senja-58"), &budi()),
            Ok(())
        );
    }

    #[test]
    fn passwords_made_of_the_accounts_context_are_refused() {
        let ctx = budi();
        for pw in [
            "BudiSantoso1986",
            "Budi260986!",
            "Budi19860926",
            "Santoso1986",
            "Budi.Santoso1",
            "SANTOSO.budi.26",
            "santosoBudi#1986",
            "B.Santoso-260986",
            "Budi_26-09-1986",
            "Budi26/09/86",
            "BS19860926!",
            "Budi2015051001",
            "198609262015A!",
            "Budi.santoso@1986",
            "26September1986B",
        ] {
            assert!(guessable(pw, &ctx), "{pw} must be refused");
        }
    }

    #[test]
    fn common_and_indonesian_passwords_are_refused() {
        let ctx = PolicyContext::default();
        for pw in [
            "Password1",
            "Qwerty123",
            "Indonesia2024!",
            "Merdeka17081945",
            "Bismillah123",
            "Sayang12345",
            "MySAPK2024!",
            "BknAsn2025!",
            "Agustus1945!",
            "Rahasia-1234",
            "Senin-Selasa-1",
            "P4ncas1la1945",
        ] {
            assert!(guessable(pw, &ctx), "{pw} must be refused");
        }
    }

    #[test]
    fn strong_passwords_pass() {
        let ctx = budi();
        for pw in [
            "Sungai-Kapuas-Senja-58",
            "Perahu-Layar-Biru-42",
            "jembatan Gelas musim 731",
            "Tq9#vLm2$Xr7",
        ] {
            assert_eq!(
                PasswordPolicy::default().check(&Password::new(pw), &ctx),
                Ok(()),
                "{pw} must pass"
            );
        }
    }

    #[test]
    fn the_word_list_is_loaded_with_ranks() {
        assert!(WORDS.len() > 20_000);
        assert!(WORDS["yang"] < WORDS["kertas"]);
        assert!(words_in("Lumbung-Padi")
            .iter()
            .any(|(w, _)| *w == "lumbung"));
        assert!(words_in("p4d1").iter().any(|(w, _)| *w == "padi"));
    }

    #[test]
    fn symbol_heavy_inputs_are_still_judged() {
        let ctx = PolicyContext::default();
        // Decided by the split alone (more than 8 rewritable symbols): a rewritten word is
        // still known, random symbols are strong.
        assert!(distinct_leet_symbols("1nd0n3s1@2024!|5") > MAX_LEET_SYMBOLS_FOR_ZXCVBN);
        assert!(guessable("1nd0n3s1@2024!|5", &ctx), "indonesia rewritten");
        assert!(!guessable("T9$k(4@x!Q7|zW%2", &ctx));
    }

    #[test]
    fn seed_minimum_of_six_is_configurable() {
        let p = PasswordPolicy {
            min_len: 6,
            ..PasswordPolicy::default()
        };
        let none = PolicyContext::default();
        // Six characters pass the length rule; the strength estimate still applies.
        let r = p.check(&Password::new("Zq7#vK"), &none);
        assert!(!r.unwrap_err().contains(&Violation::TooShort));
        assert_eq!(
            PasswordPolicy::default().check(&Password::new("Zq7#vK"), &none),
            Err(vec![Violation::TooShort, Violation::TooGuessable])
        );
    }
}
