//! Which Kafka cluster graphhook talks to: a configured one, or librdkafka's
//! in-process mock cluster so that the very same producer and consumer code runs
//! without a broker.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::logging::LoggedContext;
use crate::{base_config, KafkaSettings};

/// Why the bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The in-process cluster could not start.
    #[error("cannot start the in-process Kafka cluster")]
    Embedded(#[source] KafkaError),
    /// A Kafka client could not be created (bad property?).
    #[error("cannot create a Kafka admin client for {brokers}")]
    Client {
        /// The bootstrap servers.
        brokers: String,
        /// The cause.
        #[source]
        source: KafkaError,
    },
    /// An existing topic cannot hold the largest record graphhook writes to it.
    #[error(
        "topic {topic} has max.message.bytes = {limit}, which cannot hold records for \
         {body_key} = {body_bytes} (at least {needed} is needed): raise the topic's \
         max.message.bytes or lower {body_key}"
    )]
    TopicTooSmall {
        /// The topic.
        topic: String,
        /// Its `max.message.bytes`.
        limit: usize,
        /// What it must be at least.
        needed: usize,
        /// The body limit that needs it, and its key.
        body_bytes: usize,
        /// The configuration key of the body limit.
        body_key: &'static str,
    },
    /// Creating a topic failed.
    #[error("cannot create topic {topic} on {brokers}: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
        /// What the broker or client said.
        reason: String,
    },
}

/// The cluster in use. Holding a `Bus` keeps an embedded cluster alive; dropping it
/// stops it. The embedded cluster is not `Send`: keep the `Bus` on the task that
/// started it (e.g. in `main`).
pub enum Bus {
    /// A real cluster at these bootstrap servers.
    External(String),
    /// librdkafka's in-process mock cluster.
    Embedded {
        /// Its bootstrap servers (loopback listeners).
        bootstrap: String,
        /// The cluster itself.
        cluster: MockCluster<'static, DefaultProducerContext>,
    },
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bus::External(brokers) => write!(f, "Bus::External({brokers})"),
            Bus::Embedded { bootstrap, .. } => write!(f, "Bus::Embedded({bootstrap})"),
        }
    }
}

const EMBEDDED_BROKERS: i32 = 1;

impl Bus {
    /// Connects to the configured brokers, or starts the in-process cluster when
    /// none are configured.
    pub fn start(settings: &KafkaSettings) -> Result<Self, BusError> {
        if !settings.embedded() {
            return Ok(Bus::External(settings.brokers.trim().to_owned()));
        }
        let cluster = MockCluster::new(EMBEDDED_BROKERS).map_err(BusError::Embedded)?;
        let bootstrap = cluster.bootstrap_servers();
        // `graphhook run` warns at start-up that this cluster does not survive a
        // restart (its configuration warnings); here, only where it listens.
        tracing::info!(bootstrap = %bootstrap, "in-process Kafka cluster started");
        Ok(Bus::Embedded { bootstrap, cluster })
    }

    /// The bootstrap servers clients connect to.
    pub fn bootstrap(&self) -> &str {
        match self {
            Bus::External(brokers) => brokers,
            Bus::Embedded { bootstrap, .. } => bootstrap,
        }
    }

    /// Whether this is the in-process cluster.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Bus::Embedded { .. })
    }

    /// Creates the topics that are missing. Existing topics are left as they are;
    /// a broker that does not answer is asked again until `timeout` has passed.
    pub async fn ensure_topics(
        &self,
        settings: &KafkaSettings,
        topics: &[String],
        timeout: Duration,
    ) -> Result<(), BusError> {
        match self {
            Bus::Embedded { cluster, .. } => {
                for topic in topics {
                    match cluster.create_topic(topic, settings.partitions, EMBEDDED_BROKERS) {
                        Ok(())
                        | Err(KafkaError::MockCluster(RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err(e) => {
                            return Err(BusError::CreateTopic {
                                topic: topic.clone(),
                                brokers: self.bootstrap().to_owned(),
                                reason: e.to_string(),
                            })
                        }
                    }
                }
                Ok(())
            }
            Bus::External(brokers) => {
                crate::topic_creation::create_topics(settings, brokers, topics, timeout).await
            }
        }
    }

    /// Checks that each topic's `max.message.bytes` is at least what it needs, so
    /// that every body ingest accepts can be stored. The in-process cluster has no
    /// topic configuration and is not checked; a broker that cannot describe topic
    /// configurations is logged and not checked either.
    pub async fn check_message_limits(
        &self,
        settings: &KafkaSettings,
        needs: &[(String, usize)],
        body: (&'static str, usize),
        timeout: Duration,
    ) -> Result<(), BusError> {
        let Bus::External(brokers) = self else {
            return Ok(());
        };
        let admin = admin_client(settings, brokers)?;
        let specifiers: Vec<ResourceSpecifier<'_>> = needs
            .iter()
            .map(|(topic, _)| ResourceSpecifier::Topic(topic))
            .collect();
        let options = AdminOptions::new().request_timeout(Some(timeout));
        let results = match admin.describe_configs(&specifiers, &options).await {
            Ok(results) => results,
            Err(error) => {
                tracing::warn!(%error, "cannot describe topic configurations; topic size limits not checked");
                return Ok(());
            }
        };
        for ((topic, needed), result) in needs.iter().zip(results) {
            let resource = result.ok();
            let number = |key: &str| {
                resource
                    .as_ref()
                    .and_then(|resource| resource.get(key))
                    .and_then(|entry| entry.value.as_deref())
                    .and_then(|value| value.parse::<usize>().ok())
            };
            if number("min.insync.replicas").is_some_and(|replicas| replicas < 2) {
                tracing::warn!(%topic, "min.insync.replicas is 1: with acks=all, a record Kafka acknowledged may exist on one broker only (see the operator guide, Kafka)");
            }
            let limit = number("max.message.bytes");
            match limit {
                Some(limit) if limit < *needed => {
                    return Err(BusError::TopicTooSmall {
                        topic: topic.clone(),
                        limit,
                        needed: *needed,
                        body_bytes: body.1,
                        body_key: body.0,
                    })
                }
                Some(_) => {}
                None => {
                    tracing::warn!(%topic, "the broker did not report max.message.bytes; not checked")
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn admin_client(
    settings: &KafkaSettings,
    brokers: &str,
) -> Result<AdminClient<LoggedContext>, BusError> {
    base_config(settings, brokers)
        .create_with_context(LoggedContext)
        .map_err(|source| BusError::Client {
            brokers: brokers.to_owned(),
            source,
        })
}
