//! One trace across a message queue and a database call: a `producer` span injects its context into a
//! message's headers (`inject_map`), a consumer task on the other end of a channel continues it
//! (`extract_map`) in a `consumer` span, which calls the database in a `client` span with the attributes
//! the messaging and database conventions name. Checked in the decoded OTLP the receiver got.

mod common;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use sightline::observe;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug)]
struct DbError;

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("db error")
    }
}

impl std::error::Error for DbError {}

/// The message on the queue: its body and its headers.
type Message = (u64, HashMap<String, String>);

#[observe(kind = "producer", fields(messaging.system = "tokio-mpsc", messaging.destination.name = "orders"))]
async fn publish_order(queue: &tokio::sync::mpsc::Sender<Message>, id: u64) -> Result<(), DbError> {
    let mut headers = HashMap::new();
    sightline::inject_map(&mut headers);
    queue.send((id, headers)).await.map_err(|_| DbError)
}

#[observe(kind = "consumer", fields(messaging.system = "tokio-mpsc", messaging.destination.name = "orders"))]
async fn handle_order(id: u64) -> Result<u64, DbError> {
    save_order(id).await
}

#[observe(kind = "client", fields(db.system = "postgresql", peer.service = "orders-db"))]
async fn save_order(id: u64) -> Result<u64, DbError> {
    tokio::task::yield_now().await;
    Ok(id)
}

#[tokio::test]
async fn a_message_and_a_database_call_stay_in_the_producers_trace() {
    let receiver = otlp_receiver::Receiver::start();
    let logs = common::Captured::default();
    let (guard, _default) =
        common::scoped_telemetry("message-trace", &logs, "info", Some(receiver.base_url()));

    let (queue, mut inbox) = tokio::sync::mpsc::channel::<Message>(4);
    publish_order(&queue, 42).await.unwrap();
    // The consumer's side: a task of its own, as a queue consumer is.
    let consumer = tokio::spawn(async move {
        let (id, headers) = inbox.recv().await.unwrap();
        let remote = sightline::extract_map(&headers).expect("the producer's context");
        remote.instrument(handle_order(id)).await
    });
    assert_eq!(consumer.await.unwrap().unwrap(), 42);
    let _ = guard.flush(Duration::from_secs(10));

    let producer = receiver.span("publish_order");
    let consumer = receiver.span("handle_order");
    let client = receiver.span("save_order");
    assert_eq!(producer.span.kind, 4, "SPAN_KIND_PRODUCER");
    assert_eq!(consumer.span.kind, 5, "SPAN_KIND_CONSUMER");
    assert_eq!(client.span.kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        consumer.trace_id(),
        producer.trace_id(),
        "one trace across the queue"
    );
    assert_eq!(
        client.trace_id(),
        producer.trace_id(),
        "and the database call"
    );
    assert_eq!(
        consumer.parent_span_id(),
        producer.span_id(),
        "the consumer is the producer's child"
    );
    assert_eq!(client.parent_span_id(), consumer.span_id());
    let attributes = client.attributes();
    assert_eq!(attributes["db.system"], "postgresql");
    assert_eq!(attributes["peer.service"], "orders-db");
    assert_eq!(
        consumer.attributes()["messaging.destination.name"],
        "orders"
    );
}
