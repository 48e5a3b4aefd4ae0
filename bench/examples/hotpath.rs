//! Per-delivery CPU of ingest's in-process work, stage by stage: signature check,
//! normalization, record building. Run after `bench/ingest.sh` has written its
//! deliveries: `cargo run --release -p graphhook-bench --example hotpath [FILE]`.

use std::hint::black_box;
use std::time::Instant;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use graphhook_ingest::signature::{sign_sha256, Verifier};
use graphhook_schema::{normalize_delivery, DeliveryContext};

const ITERATIONS: u32 = 200_000;
const SECRET: &str = "bench-secret";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/out/deliveries-1.tsv".to_owned());
    let text = std::fs::read_to_string(&path)?;
    let body = text
        .lines()
        .next()
        .and_then(|l| l.split_once('\t'))
        .ok_or("empty deliveries file")?
        .1;
    let mut headers = HeaderMap::new();
    let signature = sign_sha256(SECRET.as_bytes(), body.as_bytes());
    headers.insert(
        HeaderName::from_static("x-hub-signature-256"),
        HeaderValue::from_str(&signature)?,
    );
    let verifier = Verifier::new(&[secrecy::SecretString::from(SECRET)], false);
    let ctx = DeliveryContext {
        app: "bench",
        app_id: "1",
        delivery_id: "0f0e0d0c-0b0a-0908-0706-050403020100",
        received_at_ms: 1,
    };

    let time = |label: &str, f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..ITERATIONS {
            f();
        }
        println!(
            "{label}: {:.2} us per delivery",
            started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS)
        );
    };
    time("verify", &|| {
        black_box(verifier.verify(&headers, body.as_bytes()).is_ok());
    });
    time("normalize", &|| {
        black_box(
            normalize_delivery(&ctx, body.as_bytes())
                .map(|e| e.len())
                .ok(),
        );
    });
    time("normalize + records", &|| {
        black_box(
            graphhook_bench::bare_producer::delivery_records(0, body)
                .map(|r| r.len())
                .ok(),
        );
    });
    Ok(())
}
