//! A fresh node on the built-in pack and thresholds, fed a realistic day in
//! Sulawesi Tengah: background reports, scattered single incidents, a brawl
//! of two reports in one district of Kota Palu, a clash in Sigi that keeps
//! growing all afternoon, and vote buying reported from two districts of Kota
//! Palu. The alerts raised are the ones a Kesbangpol officer would expect:
//! the brawl is waspada (not awas), the clash climbs to awas in its own
//! district only (its regency and province never repeat it), the province
//! is waspada once, when the two clashes together cross its own threshold
//! before Sigi's alone does; the vote buying raises each district and,
//! because two districts together cross the city's own threshold, one city
//! alert that links the two; scattered reports and everyday words raise
//! nothing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Node, TOKEN, call, eventually, post_report};
use serde_json::{Value, json};

const TATANGA: &str = "72.71.06";
const PALU_BARAT: &str = "72.71.02";
const PALU_TIMUR: &str = "72.71.01";
const SIGI_BIROMARU: &str = "72.10.01";

/// (local time, WITA, region, text), in time order.
fn day() -> Vec<(&'static str, &'static str, String)> {
    let mut day: Vec<(&str, &str, String)> = vec![
        ("07:05", "72.71.03", "Arus lalu lintas di Jalan Dewi Sartika padat merayap pagi ini karena perbaikan gorong-gorong.".into()),
        ("07:20", "72.02", "Warga Poso menggelar pawai budaya menyambut hari jadi kabupaten, berlangsung tertib dan meriah.".into()),
        ("07:45", "72.03.08", "Seorang nelayan di Donggala meninggal karena serangan jantung saat melaut, jenazah sudah dievakuasi keluarga.".into()),
        ("08:10", TATANGA, "Bentrok antarkelompok pemuda di Kelurahan Nunu, dua orang luka terkena lemparan batu.".into()),
        ("08:30", "72.02.01", "Polisi menangkap seorang pengedar sabu di Poso Kota dengan barang bukti lima paket.".into()),
        ("09:00", "72.08", "Harga cabai di pasar Parigi naik tajam, pedagang mengeluhkan pasokan dari petani berkurang.".into()),
        ("09:30", TATANGA, "Susulan bentrok warga Nunu dan Tavanjuka, massa saling serang dengan batu dan senjata tajam.".into()),
        ("10:00", "72.03", "Satresnarkoba Polres Donggala mengamankan dua pemakai ganja di sebuah indekos.".into()),
        ("10:15", "72.71.05", "Lomba masak antar-RT di Ulujadi diikuti tiga puluh peserta, camat hadir membuka acara.".into()),
    ];
    let clash = [
        "Bentrok antarwarga desa pecah di Sigi Biromaru, rumah dibakar massa.",
        "Bentrok antarwarga desa berlanjut, massa membawa senjata tajam dan saling lempar batu.",
        "Korban luka akibat bentrok antarwarga di Sigi Biromaru bertambah menjadi tujuh orang.",
        "Massa dari dua desa kembali bentrok, aparat menembakkan gas air mata untuk membubarkan.",
        "Bentrok antarwarga meluas ke dusun sebelah, warga mengungsi ke kantor desa.",
        "Dua rumah lagi dibakar massa dalam bentrok antarwarga di Sigi Biromaru.",
        "Bentrok antarwarga desa belum reda, jalan poros Palu-Kulawi ditutup massa.",
        "Aparat gabungan dikerahkan meredam bentrok antarwarga yang terus berlanjut.",
        "Tokoh adat dan aparat berupaya mendamaikan kedua kelompok setelah bentrok antarwarga sepanjang hari.",
    ];
    for (n, text) in clash.iter().enumerate() {
        let at: &'static str = ["11:00", "11:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00"][n];
        day.push((at, SIGI_BIROMARU, (*text).into()));
    }
    let votes = [
        (PALU_BARAT, "Warga melaporkan tim sukses calon membagikan amplop berisi uang kepada pemilih, politik uang."),
        (PALU_TIMUR, "Dugaan politik uang: warga menerima amplop dan sembako dari tim sukses salah satu calon."),
        (PALU_BARAT, "Bawaslu menerima laporan serangan fajar, uang dibagikan door to door kepada pemilih."),
        (PALU_TIMUR, "Relawan calon kepala daerah tertangkap tangan membagikan uang kepada pemilih."),
        (
            PALU_BARAT,
            "Laporan politik uang ketiga hari ini: amplop dibagikan di masjid setelah salat Isya kepada jemaah pemilih.",
        ),
        (PALU_TIMUR, "Panwaslu kecamatan menyelidiki pembagian uang kepada pemilih oleh tim sukses."),
    ];
    for (n, (region, text)) in votes.iter().enumerate() {
        let at: &'static str = ["16:00", "16:20", "16:40", "17:00", "17:20", "17:40"][n];
        day.push((at, region, (*text).into()));
    }
    day.push((
        "18:30",
        "72.10.02",
        "Festival kopi Palolo ramai dikunjungi wisatawan, tidak ada gangguan keamanan.".into(),
    ));
    day
}

fn summary(alerts: &[Value]) -> BTreeSet<(String, String, String)> {
    alerts
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
            (s("indicator"), s("region"), s("level"))
        })
        .collect()
}

#[tokio::test]
async fn a_realistic_day_raises_the_levels_an_officer_would_expect() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let reports = day();
    // the day before yesterday, so that every report is in the past
    let date = (time::OffsetDateTime::now_utc() - time::Duration::days(2)).date();
    for (at, region, text) in &reports {
        let body = json!({"text": text, "region": region, "reported_at": format!("{date}T{at}:00+08:00")});
        let (status, answer) = post_report(&node, body).await;
        assert_eq!(status, 202, "{answer}");
    }
    // every report classified and archived before the alerts are read
    let total = reports.len() as u64;
    eventually(Duration::from_secs(20), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search?limit=1", Some(TOKEN), None).await;
        (r["total"].as_u64() == Some(total)).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("not every report was archived; log:\n{}", node.log()));

    let want: BTreeSet<(String, String, String)> = [
        ("konflik_sosial", TATANGA, "waspada"),
        ("konflik_sosial", SIGI_BIROMARU, "waspada"),
        ("konflik_sosial", SIGI_BIROMARU, "siaga"),
        ("konflik_sosial", SIGI_BIROMARU, "awas"),
        // two clashes in two regencies, eight reports by mid-afternoon,
        // before Sigi alone held eight: the province as a whole, once
        ("konflik_sosial", "72", "waspada"),
        ("demokrasi", PALU_BARAT, "waspada"),
        ("demokrasi", PALU_TIMUR, "waspada"),
        ("demokrasi", "72.71", "waspada"),
    ]
    .into_iter()
    .map(|(i, r, l)| (i.to_owned(), r.to_owned(), l.to_owned()))
    .collect();
    let alerts = eventually(Duration::from_secs(20), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts?limit=100", Some(TOKEN), None).await;
        let alerts = r["alerts"].as_array()?.clone();
        (summary(&alerts) == want).then_some(alerts)
    })
    .await;
    let Some(alerts) = alerts else {
        let (_, r) = call(&node, "GET", "/api/v1/alerts?limit=100", Some(TOKEN), None).await;
        let got = summary(r["alerts"].as_array().unwrap());
        for a in r["alerts"].as_array().unwrap() {
            eprintln!(
                "{} {} {} count {} reports {:?}",
                a["indicator"],
                a["region"],
                a["level"],
                a["count"],
                a["reports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["excerpt"].as_str().unwrap_or(""))
                    .collect::<Vec<_>>()
            );
        }
        panic!(
            "alerts differ\n  missing: {:?}\n  not expected: {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        );
    };

    // the city alert is the parent of the two district alerts of its chain
    let id_of = |region: &str, indicator: &str| {
        alerts.iter().find(|a| a["region"] == region && a["indicator"] == indicator).unwrap()["id"].clone()
    };
    let city = alerts.iter().find(|a| a["region"] == "72.71").unwrap();
    let children: BTreeSet<String> =
        city["children"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    let districts: BTreeSet<String> = [id_of(PALU_BARAT, "demokrasi"), id_of(PALU_TIMUR, "demokrasi")]
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(children, districts, "{city}");
    // the province alert links the two clashes' alerts in force then
    let province = alerts.iter().find(|a| a["region"] == "72").unwrap();
    let linked: Vec<&str> =
        province["chain"]["children"].as_array().unwrap().iter().map(|c| c["region"].as_str().unwrap()).collect();
    assert!(linked.contains(&TATANGA) && linked.contains(&SIGI_BIROMARU), "{province}");
}
