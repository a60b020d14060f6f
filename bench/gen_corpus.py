#!/usr/bin/env python3
"""Generates a corpus of Indonesian report-like texts and a rule folder with
generated extra rules, for bench/classify.

usage: gen_corpus.py OUT_DIR N_REPORTS [--realistic]
writes OUT_DIR/corpus.jsonl, OUT_DIR/rules/extra.toml (500 rules, 10,000
generated terms) and OUT_DIR/terms.txt (the same terms, one per line, for
ripgrep).

The default corpus is filler-heavy: reports of about 600 bytes of everyday
words with a signal phrase in about one word of fifty. With --realistic, most
reports read like incident reports: two to four sentences, each naming what
happened with several indicator terms, and where, with places from the region
list (regencies, districts as `Kecamatan X`, provinces, news datelines), in
news, chat (slang, `yg`, `anak2`, letters repeated) and English styles."""
import csv, json, os, random, sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
realistic = "--realistic" in sys.argv[1:]
out, n = args[0], int(args[1])
random.seed(7)
os.makedirs(os.path.join(out, "rules"), exist_ok=True)

common = ("warga melaporkan bahwa pada malam hari di sekitar rumah kontrakan dekat pasar terdapat sekelompok orang "
          "yang sering berkumpul dan membuat keributan petugas kepolisian bersama perangkat desa kemudian mendatangi "
          "lokasi untuk memastikan situasi tetap aman dan kondusif kegiatan masyarakat berjalan seperti biasa harga "
          "beras di pasar tradisional stabil sementara para pedagang mengeluhkan sepinya pembeli menjelang akhir bulan "
          "pemerintah kecamatan mengadakan rapat koordinasi dengan tokoh masyarakat tokoh agama dan tokoh pemuda "
          "membahas rencana pembangunan jalan desa serta kebersihan lingkungan kelurahan selama musim hujan").split()
signals = ["pesta sabu", "pengedar ganja", "tawuran pelajar", "bentrokan antarwarga", "penolakan pembangunan gereja",
           "ujaran kebencian terhadap umat", "jaringan teroris", "bendera bintang kejora", "politik uang",
           "serangan fajar", "kotak suara", "pil koplo", "massa membakar rumah", "anti pancasila"]
places = ["Kota Palu", "Kabupaten Poso", "Palu Barat", "Sulteng", "Kabupaten Sigi", "Makassar", "Kota Kupang",
          "Kabupaten Bandung", "Jayapura", "Kecamatan Tatanga"]



def regencies_with_places():
    """Each regency of model's region list with the names a report about it
    may use: itself, its bare name, its districts, its province."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "data", "regions")
    def rows(name):
        with open(os.path.join(here, name), newline="") as f:
            return list(csv.DictReader(f))
    provinces = {r["code"]: r["name"] for r in rows("provinces.csv")}
    districts = {}
    for r in rows("districts.csv"):
        districts.setdefault(r["regency_code"], []).append(r["name"])
    return [(r["code"], r["name"], r["name"].replace("Kabupaten ", "").replace("Kota ", ""),
             districts.get(r["code"], [r["name"]]), provinces[r["province_code"]]) for r in rows("regencies.csv")]


# what happened: indicator terms of the built-in pack, as incident reports use them
EVENTS = {
    "narkoba": ["pesta sabu", "pengedar sabu", "kurir narkoba", "bandar narkoba", "paket sabu seberat 5 gram",
                "pil koplo", "ganja kering", "penyalahgunaan narkoba", "barang bukti sabu", "jaringan pengedar narkotika",
                "tembakau gorila", "pecandu narkoba"],
    "konflik_sosial": ["bentrokan antarwarga", "tawuran pelajar", "perang antarkampung", "massa membakar rumah",
                       "sengketa lahan", "konflik agraria", "lempar batu", "pengeroyokan", "warga mengamuk",
                       "ujaran kebencian terhadap suku", "aksi anarkis", "penjarahan toko"],
    "demokrasi": ["politik uang", "serangan fajar", "pembagian sembako jelang pilkada", "intimidasi pemilih",
                  "netralitas ASN", "sengketa di kantor KPU", "kotak suara dibakar", "logistik pemilu terlambat",
                  "hoaks pemilu", "pelanggaran kampanye", "beli suara", "pilkades ricuh"],
    "ideologi": ["jaringan teroris", "terduga teroris", "bom rakitan", "paham radikal", "simpatisan MIT",
                 "bendera bintang kejora", "gerakan separatis", "ormas terlarang", "anti pancasila", "lambang palu arit",
                 "baiat ISIS", "penyebaran paham radikal"],
    "kerukunan_beragama": ["penolakan pembangunan gereja", "penolakan rumah ibadah", "penistaan agama", "aliran sesat",
                           "pembubaran ibadah", "izin rumah ibadah", "intoleransi", "ujaran kebencian terhadap umat",
                           "perusakan masjid", "penodaan agama", "sengketa izin gereja", "FKUB turun tangan"],
}
ENGLISH = ["drug smuggling", "crystal meth", "riot", "clashes between villagers", "vote buying", "money politics",
           "terrorist cell", "suicide bomber", "separatist flag", "blasphemy", "church attacked", "mob violence"]
WHO = ["warga", "polisi", "petugas Polsek", "Bhabinkamtibmas", "tokoh masyarakat", "massa", "sekelompok pemuda",
       "aparat gabungan TNI-Polri", "kepala desa", "ketua RT", "Satpol PP", "pengurus masjid", "panitia pengawas"]
WHEN = ["Senin malam", "Selasa dini hari", "Rabu siang", "Kamis sore", "Jumat pagi", "Sabtu malam", "Minggu subuh",
        "kemarin", "tadi malam", "sekitar pukul 22.00 WITA", "pukul 02.30 WIB"]
NEWS = [
    "{DATELINE} - {Who} melaporkan adanya {e1} di {place} pada {when}.",
    "Aparat mengamankan sejumlah orang terkait {e1} dan {e2} di {place}.",
    "Menurut keterangan {who}, {e1} terjadi setelah isu {e2} beredar di {place}.",
    "Situasi di {place} sempat memanas akibat {e1}, namun kini kondusif.",
    "Kapolres menegaskan pihaknya akan menindak tegas pelaku {e1} di wilayah {place}.",
    "{Who} meminta aparat mengusut tuntas {e1} yang meresahkan warga {place}.",
    "Dalam operasi {when}, petugas menemukan {e1} dan menangkap dua terduga pelaku di {place}.",
]
CHAT = [
    "td mlm ada {e1} di {place}, warga resah bgt",
    "pak tolong, skrg ada {e1} dkt rmh sy di {place}!!!",
    "anak2 muda yg sering nongkrong di {place} kayaknya terlibat {e1}",
    "lapor, {e1} lg rame di {place}, udh ada {e2} jg",
    "infooo {e1} di {place} kmrn, bnyk org ngumpul, gak ada plisi",
    "mohon dicek, katanya ada {e1} sm {e2} di {place} tdi sore",
    "wargaaa {place} takuttt, {e1} trs terjadi tiap malem",
]
ENGLISH_TEMPLATES = [
    "{Place}: police reported {en} near the market on {when}, and residents fear more {en2}.",
    "Residents of {place} say {en} followed reports of {en2} this week.",
]


def realistic_reports(count):
    regencies = regencies_with_places()
    for i in range(count):
        code, regency, bare, districts, province = random.choice(regencies)
        def place():
            r = random.random()
            if r < 0.3:
                return regency
            if r < 0.55:
                return "Kecamatan " + random.choice(districts)
            if r < 0.7:
                return "Kec. " + random.choice(districts) + ", " + regency
            if r < 0.9:
                return random.choice(districts)
            return province
        # most reports name one or two indicators; one in ten is about nothing in particular
        kinds = random.sample(list(EVENTS), random.choice([1, 1, 1, 2, 2])) if random.random() < 0.9 else []
        def event():
            if not kinds:
                return random.choice(["kerja bakti", "rapat warga", "pasar murah", "lomba agustusan", "posyandu"])
            return random.choice(EVENTS[random.choice(kinds)])
        style = random.random()
        sentences = []
        for k in range(random.randint(2, 4)):
            fill = dict(e1=event(), e2=event(), place=place(), who=random.choice(WHO), when=random.choice(WHEN),
                        en=random.choice(ENGLISH), en2=random.choice(ENGLISH), DATELINE=bare.upper())
            fill["Who"] = fill["who"][0].upper() + fill["who"][1:]
            fill["Place"] = fill["place"]
            if style < 0.5:
                # a news item opens with its dateline
                template = NEWS[0] if k == 0 else random.choice(NEWS[1:])
            elif style < 0.92:
                template = random.choice(CHAT)
            else:
                template = random.choice(ENGLISH_TEMPLATES)
            sentences.append(template.format(**fill))
        report = {"id": str(i), "text": ". ".join(sentences) if style >= 0.5 else " ".join(sentences)}
        # reports from the app carry the reporter's regency
        if random.random() < 0.3:
            report["region"] = code
        yield report


with open(os.path.join(out, "corpus.jsonl"), "w") as f:
    if realistic:
        for report in realistic_reports(n):
            f.write(json.dumps(report) + "\n")
    for i in range(0 if realistic else n):
        words, length = [], 0
        while length < 560:
            r = random.random()
            if r < 0.02:
                words.append(random.choice(signals))
            elif r < 0.03:
                words.append("di " + random.choice(places))
            else:
                words.append(random.choice(common))
            length += len(words[-1]) + 1
        text = " ".join(words)
        text = text[0].upper() + text[1:] + "."
        f.write(json.dumps({"id": str(i), "text": text}) + "\n")

syllables = ["ba", "ka", "ra", "ma", "ta", "sa", "la", "na", "pa", "ga", "da", "ja", "wa", "ya", "ri", "ku", "lo", "ne",
             "si", "to", "mu", "ro", "gi", "du", "be", "ke", "ti", "su", "ni", "po"]
# the terms have their own generator, so they are the same for any N_REPORTS
rng = random.Random(11)
terms = set()
while len(terms) < 10000:
    if rng.random() < 0.002:
        # a few real phrases, so that some extra rules fire too
        terms.add(rng.choice(common) + " " + rng.choice(common))
    else:
        terms.add("".join(rng.choice(syllables) for _ in range(rng.randint(3, 5))))
terms = sorted(terms)
rng.shuffle(terms)
with open(os.path.join(out, "terms.txt"), "w") as f:
    f.write("\n".join(terms) + "\n")
with open(os.path.join(out, "rules", "extra.toml"), "w") as f:
    for r in range(500):
        chunk = terms[r * 20:(r + 1) * 20]
        f.write(f'[[rule]]\nid = "extra.{r}"\nindicator = "extra_{r % 25}"\nany = {json.dumps(chunk)}\n\n')
    # an indicator the rules name must have its levels
    for i in range(25):
        f.write(f'[threshold.extra_{i}]\nwindow = "24h"\nwaspada = 3\n\n')
