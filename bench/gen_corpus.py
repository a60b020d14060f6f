#!/usr/bin/env python3
"""Generates a corpus of Indonesian report-like texts and a rule folder with
generated extra rules, for bench/classify.

usage: gen_corpus.py OUT_DIR N_REPORTS
writes OUT_DIR/corpus.jsonl (reports of about 600 bytes), OUT_DIR/rules/extra.toml
(500 rules, 10,000 generated terms) and OUT_DIR/terms.txt (the same terms, one per
line, for ripgrep)."""
import json, os, random, sys

random.seed(7)
out, n = sys.argv[1], int(sys.argv[2])
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

with open(os.path.join(out, "corpus.jsonl"), "w") as f:
    for i in range(n):
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
