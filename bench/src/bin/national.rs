//! Feeds a national year into the Kafka path, for bench/national: COUNT
//! generated reports ([`kentongan_bench::Gen::national`]) published on the
//! `reports` topic under PREFIX, keyed and encoded as the intake does, so the
//! classifier, indexer and api roles take them as they would from ingest.
//! Prints "reports bytes seconds". `COMPRESSION` (`lz4`, `zstd`) compresses
//! the batches as `[kafka.properties]` would.
//! Usage: national BROKERS PREFIX COUNT
use std::time::Instant;

use bus::Topic;
use kentongan_bench::Gen;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, prefix, count] = args.as_slice() else {
        eprintln!("usage: national BROKERS PREFIX COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let properties = match std::env::var("COMPRESSION") {
        Ok(c) if !c.is_empty() => serde_json::json!({ "compression.type": c }),
        _ => serde_json::json!({}),
    };
    let config: bus::kafka::KafkaConfig = serde_json::from_value(
        serde_json::json!({ "brokers": brokers, "topic_prefix": prefix, "properties": properties }),
    )
    .expect("config");
    let bus = bus::Bus::Kafka(bus::kafka::KafkaBus::connect(config).await.expect("cannot reach Kafka"));
    let now = time::OffsetDateTime::now_utc();
    let mut generator = Gen::new();
    let start = Instant::now();
    let mut bytes = 0;
    let mut done = 0;
    while done < count {
        let records: Vec<(Topic, String, Vec<u8>)> = (done..count.min(done + 10_000))
            .map(|i| {
                let report = generator.national(i, now);
                (Topic::Reports, report.partition_key(), model::wire::encode(&report))
            })
            .collect();
        bytes += records.iter().map(|r| r.2.len()).sum::<usize>();
        done += records.len();
        bus.publish_batch(&records).await.expect("publish");
        if done % 1_000_000 == 0 {
            eprintln!("national: {done} published");
        }
    }
    println!("{done} {bytes} {:.1}", start.elapsed().as_secs_f64());
}
