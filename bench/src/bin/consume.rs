//! Our Kafka consume rate, for bench/peers: reads COUNT records of the
//! `reports` topic under PREFIX from the start through the product's own
//! consumer (`bus::Bus::subscribe`, batches as the stages take them), and
//! prints "records seconds", timed from the first record to the last (the
//! group join before it is not counted).
//! With COUNT 0 it only connects, which creates the topics, and exits.
//! Usage: consume BROKERS PREFIX COUNT
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, prefix, count] = args.as_slice() else {
        eprintln!("usage: consume BROKERS PREFIX COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let config: bus::kafka::KafkaConfig =
        serde_json::from_value(serde_json::json!({ "brokers": brokers, "topic_prefix": prefix })).expect("config");
    let bus = bus::Bus::Kafka(bus::kafka::KafkaBus::connect(config).await.expect("cannot reach Kafka"));
    if count == 0 {
        return;
    }
    let group = format!("bench-consume-{}", std::process::id());
    let mut sub = bus.subscribe(bus::Topic::Reports, &group).await.expect("subscribe");
    let first = sub.next().await.expect("consume");
    let start = Instant::now();
    let mut got = 1;
    drop(first);
    while got < count {
        got += sub.next_batch(10_000, Duration::from_millis(5)).await.expect("consume").len();
    }
    println!("{got} {:.3}", start.elapsed().as_secs_f64());
}
