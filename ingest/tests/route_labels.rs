//! The metric route label is derived from the path without the router's regexes;
//! it must agree with the router for every route ingest serves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::{test, web, App};
use graphhook_ingest::apps::AppRegistry;
use graphhook_ingest::metrics::IngestMetrics;
use graphhook_ingest::publisher::Publisher;
use graphhook_ingest::startup::routes;
use graphhook_ingest::state::IngestState;
use graphhook_ingest::telemetry::route_label;
use graphhook_kafka::{producer_config, AckedSender, KafkaSettings, Topics};

fn state() -> web::Data<IngestState> {
    let sender = AckedSender::new(producer_config(&KafkaSettings::default(), "127.0.0.1:1"))
        .expect("producer");
    web::Data::new(IngestState {
        apps: AppRegistry::new(&BTreeMap::new()),
        publisher: Publisher::new(sender, &Topics::new("t."), Duration::from_secs(1)),
        metrics: IngestMetrics::new().expect("metrics"),
        max_body_bytes: 1024,
        public_base_url: None,
        readiness_timeout: Duration::from_millis(10),
    })
}

#[actix_web::test]
async fn route_labels_agree_with_the_router() {
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = test::init_service(App::new().configure(|cfg| routes(cfg, state())).wrap_fn(
        move |req, srv| {
            let router = req
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let ours = route_label(req.path()).to_owned();
            if let Ok(mut seen) = record.lock() {
                seen.push((req.path().to_owned(), router, ours));
            }
            srv.call(req)
        },
    ))
    .await;
    let paths = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/webhooks/main",
        "/webhooks/a-b_c",
        "/webhooks/",
        "/webhooks",
        "/webhooks/main/extra",
        "/callbacks/main/deauthorize",
        "/callbacks/main/data-deletion",
        "/callbacks/main/other",
        "/callbacks//deauthorize",
        "/callbacks/main",
        "/",
        "/healthz/x",
        "/metricsx",
        "/nowhere",
    ];
    for path in paths {
        let _ = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), paths.len());
    for (path, router, ours) in seen.iter() {
        assert_eq!(router, ours, "route label of {path}");
    }
}
