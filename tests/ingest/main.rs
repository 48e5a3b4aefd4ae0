//! End-to-end tests of ingest: real HTTP, real Kafka protocol (the broker named by
//! `KAFKA_BROKERS`, else the in-process cluster).

mod admin;
mod attacker;
mod callbacks;
mod corpus;
mod deliveries;
mod edge;
mod gaps;
mod handlers;
mod handshake;
mod hardening;
mod harness;
mod helpers;
mod operations;
mod pipeline;
mod publishing;
mod recovery;
mod replay;
