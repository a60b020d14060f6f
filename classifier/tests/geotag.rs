//! Where and in what language, as the classifier with the built-in pack
//! tells them: districts and datelines named in a report's text, the
//! everyday senses of place names, and the language of short reports in
//! Indonesian, Javanese, Sundanese, Malay and English.

use std::sync::OnceLock;

use classifier::{Classifier, RuleSet};
use model::{Channel, RegionCode, Report};
use time::macros::datetime;

fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| Classifier::new(RuleSet::builtin()))
}

fn classify(text: &str, region: Option<&str>) -> model::Classification {
    let at = datetime!(2026-11-30 08:00 UTC);
    let mut report = Report::new(Channel::Web, "test", text, at);
    report.region = region.map(|r| RegionCode::parse(r).unwrap());
    classifier().classify(&report, at)
}

fn regions(text: &str, region: Option<&str>) -> Vec<String> {
    classify(text, region).regions.iter().map(ToString::to_string).collect()
}

#[test]
fn districts_named_in_text_are_districts() {
    // Kota Palu: Palu Timur 72.71.01, Palu Barat 72.71.02, Tatanga 72.71.06
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("Bentrok antarwarga pecah di Kecamatan Tatanga, Kota Palu, Sabtu malam.", None, &["72.71.06"]),
        ("Warga Kec. Tatanga resah dengan peredaran sabu.", None, &["72.71.06"]),
        ("td mlm ada tawuran di kec tatanga", None, &["72.71.06"]),
        ("Demo mahasiswa di Palu Barat berlangsung tertib.", None, &["72.71.02"]),
        ("Pasar Inpres di Palu Timur kembali dibuka.", None, &["72.71.01"]),
        ("Patroli gabungan menyisir Palu Barat dan Palu Timur.", None, &["72.71.01", "72.71.02"]),
        // a bare one-word district after `di`, unique in the country
        ("Pencurian motor marak di Tatanga", None, &["72.71.06"]),
        // the report's own region is narrowed by a district inside it, never widened
        ("Ada keributan di Kecamatan Tatanga", Some("72.71"), &["72.71.06"]),
        ("Ada keributan di Tatanga", Some("73.71"), &["73.71"]),
        ("Situasi aman terkendali", Some("72.71"), &["72.71"]),
    ];
    for (text, region, want) in cases {
        assert_eq!(regions(text, *region), *want, "{text} ({region:?})");
    }
}

#[test]
fn a_district_name_in_several_regencies_needs_its_regency() {
    // Ciawi: a district of Kabupaten Bogor (32.01.24) and of Tasikmalaya (32.06.36)
    assert!(regions("Razia miras di Ciawi semalam", None).is_empty());
    assert_eq!(regions("Razia miras di Ciawi, Kabupaten Bogor, semalam", None), ["32.01.24"]);
    assert_eq!(regions("Razia miras di Ciawi semalam", Some("32.06")), ["32.06.36"]);
    // typed, it is certainly one of the two: the province they share
    assert_eq!(regions("Razia miras di Kecamatan Ciawi semalam", None), ["32"]);
}

#[test]
fn datelines_name_the_place_and_the_hammer_stays_a_hammer() {
    let cases: &[(&str, &[&str])] = &[
        ("PALU - Seorang pria ditangkap karena memukul tetangganya dengan palu.", &["72.71"]),
        ("PALU, KOMPAS.com - Polisi mengamankan dua pengedar sabu.", &["72.71"]),
        ("Palu (ANTARA) - Ratusan mahasiswa berunjuk rasa di depan gedung DPRD.", &["72.71"]),
        ("SAMPIT, KOMPAS - Warga dua desa bentrok soal batas lahan sawit.", &["62.02"]),
        ("JAKARTA, Kompas.com \u{2014} Polisi menangkap penyebar hoaks pemilu.", &["31"]),
        ("LUWUK - Kantor camat dirusak massa.", &["72.01.04"]),
        // the dateline city and a district of it: the district
        ("PALU - Bentrok pecah di Kecamatan Tatanga.", &["72.71.06"]),
        // a common word is a place only at the dateline or in a place context
        ("Seorang warga dipukul dengan palu oleh tetangganya.", &[]),
        ("Palu dan parang diamankan polisi dari lokasi.", &[]),
        ("Massa melempar batu ke arah petugas.", &[]),
        ("Warga memukul kentongan - palu godam dibawa pelaku", &[]),
    ];
    for (text, want) in cases {
        assert_eq!(regions(text, None), *want, "{text}");
    }
}

/// One- and two-sentence reports, each with the language it is in.
const LANGUAGES: &[(&str, &[&str])] = &[
    (
        "ind",
        &[
            "Pengedar narkoba ditangkap di pelabuhan Pantoloan",
            "Ratusan mahasiswa berunjuk rasa di depan gedung DPRD Sulawesi Tengah.",
            "Warga menolak pembangunan tambang di desanya. Mereka memblokade jalan sejak pagi.",
            "td mlm ada yg lempar batu ke rumah ibadah",
            "gw liat ada yg transaksi sabu di kos2an belakang pasar",
            "Polisi mengamankan dua orang terduga pelaku pembakaran.",
            "Bentrok antarwarga pecah di perbatasan desa",
            "Banjir setinggi lutut merendam permukiman warga",
            "udah 3 hari listrik mati, warga mulai resah",
            "Spanduk provokatif dipasang di depan masjid",
            "Kapolres Poso memimpin patroli gabungan.",
        ],
    ),
    (
        "jav",
        &[
            "Wingi bengi ana wong loro sing ditangkep polisi ing pasar.",
            "Aku krungu desa kono arep didemo warga sesuk esuk.",
            "Bocah-bocah padha tawuran neng dalan gedhe, akeh sing tatu.",
            "Kula badhe lapor, wonten tiyang ingkang dipun cekel polisi.",
            "Omahe Pak Lurah diobong wong ora dikenal.",
            "Ojo percoyo karo kabar hoaks iku, durung mesthi bener.",
            "Banyune wis mlebu omah. Warga padha ngungsi menyang bale desa.",
            "Ana sing nyebar selebaran aneh ing masjid, aku wedi.",
            "Rega lombok saiki larang banget, wong cilik padha sambat.",
        ],
    ),
    (
        "sun",
        &[
            "Aya nu maling motor di lembur peuting tadi.",
            "Urang lembur geus sababaraha poe teu meunang cai beresih.",
            "Budak sakola tawuran deui di jalan gede, loba nu tatu.",
            "Abdi bade ngalaporkeun, aya jalma nu nyebarkeun hoaks.",
            "Ceuk warga, pulisi geus nyekel tilu urang tersangka.",
            "Imah warga kabanjiran. Caina nepi ka cangkeng.",
            "Punten, kantor desa teh aya dimana?",
            "Kamari aya demo di alun-alun, tapi teu ricuh.",
            "Ulah percanten kana beja nu teu jelas.",
        ],
    ),
    (
        "zsm",
        &[
            "Polis menahan seorang lelaki kerana memiliki dadah.",
            "Mangsa dihantar ke hospital selepas kemalangan jalan raya semalam.",
            "Suspek dipercayai melarikan diri dengan sebuah kereta.",
            "Kerajaan negeri akan mengumumkan bantuan wang tunai minggu depan.",
            "Penduduk kampung mahu pihak berkuasa mengambil tindakan segera.",
            "Siasatan awal mendapati kebakaran itu berlaku akibat litar pintas.",
            "Encik Ahmad berkata beliau tidak tahu apa-apa tentang kejadian itu.",
            "Pemandu teksi itu disyaki terlibat dalam kes rompakan.",
            "Sebarang maklumat boleh disalurkan kepada balai polis berhampiran.",
            "Polis menahan dua lelaki di sempadan kerana memiliki dadah. Suspek kini ditahan reman selama tujuh hari.",
            "Penduduk kampung berhimpun di hadapan pejabat daerah petang semalam. Mereka mahu kerajaan negeri bertindak segera.",
        ],
    ),
    (
        "eng",
        &[
            "Police arrested two men suspected of selling drugs at the port.",
            "Residents blocked the road to protest against the mining company.",
            "A mosque in the village was vandalised last night.",
            "Students rallied outside the regional parliament on Monday.",
            "There was a clash between two groups of supporters after the match.",
            "Hoax messages about the election are spreading on WhatsApp.",
            "Flooding has forced hundreds of families to leave their homes.",
            "The situation in Poso is calm, according to the local police.",
            "Fire destroyed several houses in the market. Nobody was hurt.",
        ],
    ),
];

#[test]
fn short_reports_get_their_language() {
    let mut wrong = Vec::new();
    for (lang, texts) in LANGUAGES {
        assert!(texts.len() >= 8, "{lang}: at least eight reports");
        for text in *texts {
            let got = classify(text, None).language;
            if got.as_deref() != Some(*lang) {
                wrong.push(format!("{text}: want {lang}, got {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_title_counts_with_the_text() {
    let at = datetime!(2026-11-30 08:00 UTC);
    let mut report = Report::new(Channel::Feed, "test", "Pantoloan", at);
    report.title = Some("Police arrest a drug courier at the port".into());
    assert_eq!(classifier().classify(&report, at).language.as_deref(), Some("eng"));
}
