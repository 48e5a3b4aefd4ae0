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
    /// `comments` (every change a comment) or `realistic` (one change per delivery:
    /// comments 70%, mentions 10%, story insights 10%, permissions 5%, feed 5%).
    #[arg(long, default_value = "comments")]
    pub mix: Mix,
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

/// What the deliveries contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Comment changes only.
    Comments,
    /// The processor benchmark's mix, one change per delivery.
    Realistic,
}

/// One delivery of the realistic mix: over 100 deliveries, 70 comments, 10
/// mentions, 10 story insights, 5 permission changes (revoked and granted in turn)
/// and 5 Page feed posts, spread over `accounts` accounts.
pub fn realistic_body(index: usize, accounts: usize) -> String {
    let account = 17_841_400_000_000_000u64 + (index % accounts.max(1)) as u64;
    let time = 1_700_000_000 + index as u64;
    let change = |field: &str, value: String| {
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"{account}","time":{time},"changes":[{{"field":"{field}","value":{value}}}]}}]}}"#
        )
    };
    match index % 100 {
        0..=69 => body(index, 1, accounts),
        70..=79 => change(
            "mentions",
            format!(r#"{{"media_id":"1791{index:011}","comment_id":"1792{index:011}"}}"#),
        ),
        80..=89 => change(
            "story_insights",
            format!(
                r#"{{"media_id":"1793{index:011}","impressions":{},"reach":{},"taps_forward":3,"taps_back":1,"exits":2,"replies":0}}"#,
                100 + index % 50,
                90 + index % 40
            ),
        ),
        90..=94 => {
            let verb = if (index / accounts.max(1)).is_multiple_of(2) {
                "revoked"
            } else {
                "granted"
            };
            format!(
                r#"{{"object":"permissions","entry":[{{"id":"u{account}","time":{time},"changes":[{{"field":"instagram_basic","value":{{"verb":"{verb}","target_ids":["{account}"]}}}}]}}]}}"#
            )
        }
        _ => format!(
            r#"{{"object":"page","entry":[{{"id":"1050{}","time":{time},"changes":[{{"field":"feed","value":{{"item":"status","verb":"add","post_id":"1050{}_{index}","published":1,"created_time":{time}}}}}]}}]}}"#,
            index % accounts.max(1),
            index % accounts.max(1)
        ),
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
    for i in 0..args.count {
        let body = match args.mix {
            Mix::Comments => body(i, args.updates, args.accounts),
            Mix::Realistic => realistic_body(i, args.accounts),
        };
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
