//! Criterion benchmarks live in `benches/`; run them with `cargo bench -p kentongan-bench`.
//! This library holds the report generator the benchmark programs share.

use model::{Channel, RegionCode, Report, ReportId};
use time::OffsetDateTime;

const SENTENCES: &[&str] = &[
    "Warga melaporkan rumah kontrakan di ujung gang sering dipakai pesta sabu pada akhir pekan.",
    "Satresnarkoba Polres menyita 300 gram ganja kering dari seorang pemuda.",
    "Kurir narkotika jaringan antarprovinsi diamankan di bandara.",
    "Dua kampung bertikai setelah seorang pemuda dianiaya, warga saling serang menggunakan senjata tajam.",
    "Aksi unjuk rasa buruh berakhir ricuh, pagar kantor bupati dirobohkan massa.",
    "Perselisihan antara nelayan lokal dan nelayan pendatang soal wilayah tangkap kian memanas.",
    "Kondisi wilayah kecamatan aman, tidak ada kejadian menonjol selama 24 jam terakhir.",
    "Warga berkumpul di balai desa untuk musyawarah rencana pembangunan jalan usaha tani.",
    "Pembangunan rumah ibadah ditolak sebagian warga yang mendatangi lokasi.",
    "Ceramah berisi ujaran kebencian terhadap umat agama lain beredar di grup percakapan.",
    "Spanduk anti Pancasila dipasang di jembatan dan sudah diturunkan aparat.",
    "Densus menangkap terduga anggota jaringan teroris di sebuah rumah kos.",
    "Bendera bintang kejora dikibarkan sekelompok orang di lapangan.",
    "Menjelang pilkada beredar dugaan politik uang dan serangan fajar di beberapa desa.",
    "Kotak suara tiba di gudang KPU kabupaten dan dijaga aparat gabungan.",
    "Tawuran pelajar dua sekolah pecah sepulang sekolah, tiga siswa luka ringan.",
    "Bentrokan antarwarga dipicu sengketa lahan perkebunan yang belum selesai.",
    "Harga beras di pasar tradisional stabil, pedagang mengeluhkan sepinya pembeli.",
    "Rapat koordinasi forum kewaspadaan dini masyarakat membahas situasi menjelang hari raya.",
    "Babinsa dan Bhabinkamtibmas berpatroli bersama perangkat desa pada malam hari.",
    "Peredaran pil koplo di kalangan remaja meresahkan orang tua.",
    "Massa membakar rumah terduga pelaku pencurian sebelum polisi tiba.",
    "Kegiatan keagamaan berjalan tertib dengan pengamanan dari pemuda lintas iman.",
    "Kampanye terselubung di sekolah dilaporkan ke Bawaslu kabupaten.",
    "Hujan deras menyebabkan banjir di tiga kelurahan, warga mengungsi ke masjid.",
];

const FILLER: &str = "warga melaporkan bahwa pada malam hari di sekitar rumah kontrakan dekat pasar terdapat \
sekelompok orang yang sering berkumpul petugas kepolisian bersama perangkat desa kemudian mendatangi lokasi untuk \
memastikan situasi tetap aman dan kondusif kegiatan masyarakat berjalan seperti biasa pemerintah kecamatan \
mengadakan rapat koordinasi dengan tokoh masyarakat tokoh agama dan tokoh pemuda membahas rencana pembangunan \
jalan desa serta kebersihan lingkungan kelurahan selama musim hujan menurut keterangan saksi kejadian berlangsung \
sekitar pukul kepala dusun meminta warga tetap tenang dan tidak terprovokasi kabar yang beredar di media sosial";

const SYLLABLES: [&str; 24] = [
    "ba", "ka", "ra", "ma", "ta", "sa", "la", "na", "pa", "ga", "da", "ja", "wa", "ya", "ri", "ku", "lo", "ne", "si",
    "to", "mu", "ro", "gi", "du",
];

/// A seeded generator: the same archive on every run.
pub struct Gen {
    rng: fastrand::Rng,
    names: Vec<String>,
    filler: Vec<&'static str>,
    regions: Vec<RegionCode>,
    /// For [`Gen::national`]: regencies in a seeded random order (a report's
    /// regency is drawn about 1/rank^0.8 of it) and each one's districts.
    regencies: Vec<(RegionCode, Vec<RegionCode>)>,
}

impl Default for Gen {
    fn default() -> Self {
        Self::new()
    }
}

impl Gen {
    pub fn new() -> Self {
        let mut rng = fastrand::Rng::with_seed(7);
        let names = (0..20_000)
            .map(|_| {
                let n = rng.usize(2..5);
                let mut s: String = (0..n).map(|_| SYLLABLES[rng.usize(..SYLLABLES.len())]).collect();
                s[..1].make_ascii_uppercase();
                s
            })
            .collect();
        let mut regions: Vec<RegionCode> =
            model::regions().iter().map(|r| r.code.clone()).filter(|c| c.to_string().len() <= 8).collect();
        regions.sort_by_key(ToString::to_string);
        let mut regencies: Vec<(RegionCode, Vec<RegionCode>)> = regions
            .iter()
            .filter(|c| c.to_string().len() == 5)
            .map(|r| {
                let prefix = format!("{r}.");
                let districts = regions.iter().filter(|d| d.to_string().starts_with(&prefix)).cloned().collect();
                (r.clone(), districts)
            })
            .collect();
        let mut order = fastrand::Rng::with_seed(17);
        order.shuffle(&mut regencies);
        Self { rng, names, filler: FILLER.split(' ').collect(), regions, regencies }
    }

    /// A name; low ranks are far more common (about 1/rank).
    fn name(&mut self) -> &str {
        let rank = (self.names.len() as f64).powf(self.rng.f64()) as usize;
        &self.names[rank.min(self.names.len() - 1)]
    }

    fn text(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..self.rng.usize(2..5) {
            if self.rng.f32() < 0.4 {
                out.push_str(SENTENCES[self.rng.usize(..SENTENCES.len())]);
            } else {
                let n = self.rng.usize(8..20);
                let start = self.rng.usize(..self.filler.len() - n);
                let words = self.filler[start..start + n].join(" ");
                out.push_str(&words[..1].to_uppercase());
                out.push_str(&words[1..]);
                out.push('.');
            }
            out.push_str(&format!(" Menurut {} dari {}, ", self.name().to_owned(), self.name().to_owned()));
            out.push_str(&format!("laporan ke-{} diterima.", self.rng.u32(1..500)));
            out.push(' ');
        }
        out.trim_end().to_owned()
    }

    pub fn report(&mut self, n: usize, now: OffsetDateTime) -> Report {
        let reported_at = now - time::Duration::seconds(self.rng.i64(0..365 * 86_400));
        let channel = [Channel::App, Channel::App, Channel::Web, Channel::Whatsapp, Channel::Sms, Channel::Feed]
            [self.rng.usize(..6)];
        // drawn in the order the figures were made with
        let received_at = reported_at + time::Duration::seconds(self.rng.i64(0..600));
        let region = (self.rng.f32() < 0.7).then(|| self.regions[self.rng.usize(..self.regions.len())].clone());
        Report {
            id: ReportId(uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 + n as u128)),
            reported_at,
            region,
            ..Report::new(channel, format!("bench-{}", channel.as_str()), self.text(), received_at)
        }
    }

    /// A report of a national year, as [`bench/national`] feeds the Kafka
    /// path: every report names a regency (drawn about 1/rank^0.8, so a few
    /// busy cities and a long tail), half of them a district in it; times
    /// spread over the year before `now` with more by day than by night,
    /// more on weekdays, and three times as many in the month before an
    /// election day 60 days ago; 40 % from news feeds.
    pub fn national(&mut self, n: usize, now: OffsetDateTime) -> Report {
        let rank = ((self.regencies.len() as f64).powf(self.rng.f64()) as usize).min(self.regencies.len() - 1);
        let (regency, districts) = &self.regencies[rank];
        let region = if !districts.is_empty() && self.rng.bool() {
            districts[self.rng.usize(..districts.len())].clone()
        } else {
            regency.clone()
        };
        let reported_at = loop {
            let at = now - time::Duration::seconds(self.rng.i64(0..365 * 86_400));
            let hour = at.hour();
            let mut keep = if (6..22).contains(&hour) { 1.0 } else { 0.3 };
            if at.weekday().number_days_from_monday() >= 5 {
                keep *= 0.7;
            }
            let days_ago = (now - at).whole_days();
            if !(60..90).contains(&days_ago) {
                keep /= 3.0;
            }
            if self.rng.f64() < keep {
                break at;
            }
        };
        let channel = match self.rng.u8(..10) {
            0..4 => Channel::Feed,
            4..6 => Channel::App,
            6..8 => Channel::Whatsapp,
            8 => Channel::Telegram,
            _ => Channel::Sms,
        };
        let received_at = reported_at + time::Duration::seconds(self.rng.i64(0..600));
        Report {
            id: ReportId(uuid::Uuid::from_u128(0x0193_0000_0000_7000_9000_0000_0000_0000 + n as u128)),
            reported_at,
            region: Some(region),
            ..Report::new(channel, format!("bench-{}", channel.as_str()), self.text(), received_at)
        }
    }
}
