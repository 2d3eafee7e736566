//! Builds `crates/sapk-core/data/breached.bfuse16` from a password list, one per line
//! (`scripts/breached-filter` runs it on the pinned corpus):
//! `cargo run --release -p sapk-core --example breached_filter -- LIST.txt OUT`.

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, list, out] = args.as_slice() else {
        return Err("usage: breached_filter LIST.txt OUT".into());
    };
    let mut bytes = Vec::new();
    std::fs::File::open(list)?.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let words: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .collect();
    let filter = sapk_core::breached::build(words.iter().copied())?;
    std::fs::write(out, &filter)?;
    println!("{} passwords -> {} bytes", words.len(), filter.len());
    Ok(())
}
