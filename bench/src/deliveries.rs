//! Realistic signed deliveries: comments with escaped non-ASCII text and slashes.

use std::io::Write;
use std::path::PathBuf;

use graphhook_ingest::signature::sign_sha256;

#[derive(clap::Args)]
pub struct Args {
    /// Updates (changes) per delivery.
    #[arg(long, default_value_t = 1)]
    pub updates: usize,
    /// Distinct deliveries to write.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Accounts the changes are spread over.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// App secret to sign with.
    #[arg(long)]
    pub secret: String,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

/// One delivery body of `updates` comment changes.
pub fn body(index: usize, updates: usize, accounts: usize) -> String {
    let account = 17_841_400_000_000_000u64 + (index % accounts.max(1)) as u64;
    let changes: Vec<String> = (0..updates)
        .map(|u| {
            let id = index * updates + u;
            format!(
                r#"{{"field":"comments","value":{{"from":{{"id":"{}","username":"user_{id}"}},"id":"1786{id:011}","text":"Sch\u00f6n! \ud83d\ude0d see https:\/\/example.com\/p\/{id}","media":{{"id":"1790{:011}","media_product_type":"FEED"}}}}}}"#,
                9_000_000 + id,
                id % 97
            )
        })
        .collect();
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{account}","time":1700000000,"changes":[{}]}}]}}"#,
        changes.join(",")
    )
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
    for i in 0..args.count {
        let body = body(i, args.updates, args.accounts);
        let signature = sign_sha256(args.secret.as_bytes(), body.as_bytes());
        writeln!(out, "{signature}\t{body}")?;
    }
    out.flush()?;
    Ok(())
}

/// Reads a file written by [`run`].
pub fn read(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|line| {
            line.split_once('\t')
                .map(|(s, b)| (s.to_owned(), b.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("line without a tab in {}", path.display()))
        })
        .collect()
}
