//! The metric route labels are derived from the path without the router's
//! regexes; they must agree with each listener's router for every route it serves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::{test, web, App};
use graphhook_ingest::apps::AppRegistry;
use graphhook_ingest::metrics::IngestMetrics;
use graphhook_ingest::publisher::Publisher;
use graphhook_ingest::routes::{ops_routes, public_routes};
use graphhook_ingest::state::IngestState;
use graphhook_ingest::telemetry::{ops_route_label, public_route_label};
use graphhook_kafka::{producer_config, AckedSender, KafkaSettings, Topics};
use graphhook_web::{BodyBudget, BodyLimits, Readiness};

fn state() -> web::Data<IngestState> {
    let sender = AckedSender::new(producer_config(&KafkaSettings::default(), "127.0.0.1:1"))
        .expect("producer");
    let metrics = IngestMetrics::new().expect("metrics");
    web::Data::new(IngestState {
        apps: AppRegistry::new(&BTreeMap::new()),
        publisher: Publisher::new(sender, &Topics::new("t."), Duration::from_secs(1)),
        readiness: Readiness::new(metrics.ready.clone(), Duration::from_secs(1)),
        metrics,
        body: BodyLimits {
            max_bytes: 1024,
            deadline: Duration::from_secs(1),
            budget_wait: Duration::from_millis(10),
        },
        budget: BodyBudget::new(4096),
        public_base_url: None,
    })
}

const PATHS: [&str; 17] = [
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

async fn labels_agree(
    routes: fn(&mut web::ServiceConfig, web::Data<IngestState>),
    label: fn(&str) -> &'static str,
) {
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = test::init_service(App::new().configure(|cfg| routes(cfg, state())).wrap_fn(
        move |req, srv| {
            let router = req
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let ours = label(req.path()).to_owned();
            if let Ok(mut seen) = record.lock() {
                seen.push((req.path().to_owned(), router, ours));
            }
            srv.call(req)
        },
    ))
    .await;
    for path in PATHS {
        let _ = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), PATHS.len());
    for (path, router, ours) in seen.iter() {
        assert_eq!(router, ours, "route label of {path}");
    }
}

#[actix_web::test]
async fn public_route_labels_agree_with_the_public_router() {
    labels_agree(public_routes, public_route_label).await;
}

#[actix_web::test]
async fn ops_route_labels_agree_with_the_operations_router() {
    labels_agree(ops_routes, ops_route_label).await;
}
