"""From a report's 202 to its alert's email at the SMTP server, for bench/alerts.

usage: alert_latency.py BASE_URL TOKEN SMTP_LOG N RATE

Posts N reports, each in a district of its own (so each raises a new
district alert), RATE a second, and reads SMTP_LOG, where the SMTP server
writes "<alert id> <arrival, unix seconds>" per message. Prints p50/p99 of
arrival minus the 202, matching alerts to reports by district."""
import json, os, sys, time, urllib.request

base, token, smtp_log, n, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
here = os.path.dirname(os.path.abspath(__file__))
districts = []
with open(os.path.join(here, "..", "model", "data", "regions", "districts.csv")) as f:
    next(f)
    for line in f:
        districts.append(line.split(",")[0])
districts = districts[:: max(1, len(districts) // n)][:n]


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.status, json.loads(r.read() or b"null")


provinces = sorted({d[:2] for d in districts})
call("POST", "/api/v1/units", {"name": "Pusat Pemantauan", "regions": provinces, "emails": ["pusat@example.test"]})
accepted = {}
start = time.time()
for i, district in enumerate(districts):
    wait = start + i / rate - time.time()
    if wait > 0:
        time.sleep(wait)
    status, _ = call("POST", "/api/v1/reports", {"text": "Warga melaporkan pesta sabu di rumah kontrakan", "region": district})
    assert status == 202, status
    accepted[district] = time.time()

# every district alert's email, then the latencies
deadline = time.time() + 120
while True:
    alerts = {}
    for province in provinces:
        _, body = call("GET", f"/api/v1/alerts?region={province}&limit=1000")
        alerts.update({a["id"]: a["region"] for a in body["alerts"] if a["region"] in accepted})
    arrivals = {}
    with open(smtp_log) as f:
        for line in f:
            alert, at = line.split()
            arrivals[alert] = float(at)
    done = [(region, arrivals[a]) for a, region in alerts.items() if a in arrivals]
    if len(done) >= len(accepted) or time.time() > deadline:
        break
    time.sleep(1)
lat = sorted(at - accepted[region] for region, at in done)
pct = lambda p: lat[min(len(lat) - 1, round((len(lat) - 1) * p))] * 1000
print(f"| {len(accepted)} | {rate:.0f}/s | {len(lat)} | {pct(0.5):.0f} ms | {pct(0.99):.0f} ms | {lat[-1] * 1000:.0f} ms |")
