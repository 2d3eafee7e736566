//! Questions to the officer at the counter.

use sapk_core::Lang;
use std::io::{BufRead, Write};

/// Questions to the officer. The terminal implementation writes to stderr (stdout stays
/// clean for `--json`) and reads one line from stdin; end of input answers "no".
pub trait Prompt {
    fn ask(&mut self, question: &str) -> Option<String>;

    fn confirm(&mut self, question: &str, lang: Lang) -> bool {
        // Indonesian: "ya" or "tidak" (the default); "y" still works, as typists expect.
        let hint = lang.pick("[ya/TIDAK]", "[yes/NO]");
        matches!(
            self.ask(&format!("{question} {hint} "))
                .map(|a| a.trim().to_lowercase())
                .as_deref(),
            Some("y" | "ya" | "yes")
        )
    }
}

pub struct StdPrompt;

impl Prompt for StdPrompt {
    fn ask(&mut self, question: &str) -> Option<String> {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }
}
