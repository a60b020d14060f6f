//! `cargo bench -p kentongan-bench`: the classifier's parts on a report of
//! about 600 bytes, with the built-in pack, and with 10,000 extra generated
//! terms in 500 rules.

use std::hint::black_box;

use classifier::{Classifier, RuleSet};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::{Channel, Report};
use time::macros::datetime;

const TEXT: &str = "Warga Kelurahan Balaroa, Kecamatan Palu Barat, melaporkan bahwa rumah kontrakan di ujung gang \
dekat pasar sering dipakai berkumpul sekelompok pemuda dari luar kampung pada malam hari. Menurut ketua RT, \
mereka diduga menggelar pesta sabu dan beberapa kali terlibat keributan dengan warga setempat sehingga situasi \
memanas. Petugas Polsek bersama Babinsa dan Bhabinkamtibmas telah mendatangi lokasi, namun para pemuda sudah \
membubarkan diri. Warga meminta patroli rutin ditingkatkan menjelang pilkada agar lingkungan tetap aman.";

fn report() -> Report {
    let at = datetime!(2026-11-29 10:00 UTC);
    Report::new(Channel::App, "bench", TEXT, at)
}

/// 500 rules of 20 made-up words each, as in bench/gen_corpus.py.
fn extra_rules() -> String {
    let syllables = ["ba", "ka", "ra", "ma", "ta", "sa", "la", "na", "pa", "ga", "da", "ja", "wa", "ya", "ri"];
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut out = String::new();
    for r in 0..500 {
        let terms: Vec<String> = (0..20)
            .map(|_| (0..3 + next() % 3).map(|_| syllables[next() % syllables.len()]).collect::<String>())
            .map(|t| format!("\"{t}\""))
            .collect();
        out.push_str(&format!(
            "[[rule]]\nid = \"extra.{r}\"\nindicator = \"extra_{}\"\nany = [{}]\n\n",
            r % 25,
            terms.join(", ")
        ));
    }
    // an indicator the rules name must have its levels
    for i in 0..25 {
        out.push_str(&format!("[threshold.extra_{i}]\nwindow = \"24h\"\nwaspada = 3\n\n"));
    }
    out
}

fn bench(c: &mut Criterion) {
    let at = datetime!(2026-11-29 10:00 UTC);
    let report = report();
    let builtin = Classifier::new(RuleSet::builtin());
    let mut sources = RuleSet::builtin_sources();
    sources.push(("extra.toml".into(), extra_rules()));
    let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let extra = Classifier::new(RuleSet::parse(&refs).unwrap());

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(TEXT.len() as u64));
    g.bench_function("normalise", |b| b.iter(|| builtin.normalizer().stream(black_box(TEXT))));
    g.bench_function("built-in pack", |b| b.iter(|| builtin.classify(black_box(&report), at)));
    g.bench_function("built-in + 10,000 terms", |b| b.iter(|| extra.classify(black_box(&report), at)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
