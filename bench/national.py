"""Waits for and measures a national year, for bench/national.

usage: national.py wait BASE TOKEN CLICKHOUSE_URL DATABASE COUNT
       national.py measure BASE NATIONAL_TOKEN CITY_TOKEN

`wait` returns once the api node's search index and ClickHouse both hold
COUNT reports and every settled day is sealed (at most 10 more minutes). `measure` prints "measure|value" lines: search and stats
p50/p99 in ms through the API, for a national analyst and a city analyst
(Kota Palu), over one kept-alive connection each, 30 runs of every question
after 2 warm-ups, and the slowest question asked for the first time. The
stats questions go to every statistics endpoint (/stats, /stats/series,
/stats/breakdown, /stats/rising)."""
import datetime, http.client, json, sys, time, urllib.parse, urllib.request


def wait(base, token, ch, db, n):
    deadline = time.time() + 6 * 3600
    while time.time() < deadline:
        try:
            req = urllib.request.Request(base + "/api/v1/search?limit=1", headers={"Authorization": "Bearer " + token})
            indexed = json.load(urllib.request.urlopen(req))["total"]
            counted = int(urllib.request.urlopen(ch, data=f"SELECT count() FROM {db}.reports".encode()).read())
        except Exception as e:  # noqa: BLE001 (the node may still be loading)
            print(f"national: waiting ({e})", file=sys.stderr)
            indexed = counted = 0
        if indexed >= n and counted >= n:
            sealed_wait(ch, db)
            return
        print(f"national: {indexed} indexed, {counted} in ClickHouse of {n}", file=sys.stderr)
        time.sleep(10)
    sys.exit("national: not every report arrived within 6 hours")


def sealed_wait(ch, db):
    """Waits (at most 10 minutes) until every settled day (UTC+7, ended more
    than 6 h ago) is sealed, so that stats are measured as they stand once the
    writer has caught up, not before its first seal."""
    def q(sql):
        return int(urllib.request.urlopen(ch, data=sql.encode()).read())
    day = "toDate(received_at, 'Asia/Jakarta')"
    ripe_sql = f"SELECT uniqExact({day}) FROM {db}.reports WHERE {day} < toDate(now() - INTERVAL 6 HOUR, 'Asia/Jakarta')"
    sealed_sql = f"SELECT countIf(s > 0) FROM (SELECT day, argMax(seal, at) AS s FROM {db}.report_day_seals GROUP BY day)"
    deadline = time.time() + 600
    while True:
        ripe, sealed = q(ripe_sql), q(sealed_sql)
        if sealed >= ripe:
            print(f"national: {sealed} settled days sealed", file=sys.stderr)
            return
        if time.time() > deadline:
            print(f"national: only {sealed} of {ripe} settled days sealed after 10 minutes; measuring anyway", file=sys.stderr)
            return
        print(f"national: {sealed} of {ripe} settled days sealed", file=sys.stderr)
        time.sleep(10)


def timed(conn, token, path, runs=30):
    """The 30 runs after 2 warm-ups, in ms, and the first run's (the
    question asked for the first time by this caller)."""
    out, first = [], None
    for i in range(runs + 2):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit(f"national: {path} answered {r.status}: {body[:200]!r}")
        ms = (time.perf_counter() - t) * 1000
        if i == 0:
            first = ms
        if i >= 2:
            out.append(ms)
    return out, first


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def measure(base, national, city):
    host = urllib.parse.urlparse(base).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda d: urllib.parse.quote((now - datetime.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    searches = ["q=sabu", "q=bentrok", "q=%22pesta+sabu%22", "q=pemilu+OR+pilkada", "q=warga",
                "q=kurir+AND+narkotika", "indicator=konflik_sosial", "q=teroris&from=" + iso(30),
                "q=tawuran&region=72", "sort=newest"]
    # every statistics endpoint: counts, the daily series, the breakdown by region, the rising regions
    stats = ["/api/v1/stats?from=" + iso(30), "/api/v1/stats?by=regency&bucket=week&region=72&from=" + iso(90),
             "/api/v1/stats?indicator=narkoba&bucket=month&from=" + iso(365),
             "/api/v1/stats?by=district&region=72.71&from=" + iso(30), "/api/v1/stats?bucket=month&from=" + iso(365),
             "/api/v1/stats/series?from=" + iso(90), "/api/v1/stats/series?indicator=narkoba&from=" + iso(365),
             "/api/v1/stats/breakdown?from=" + iso(30),
             "/api/v1/stats/breakdown?indicator=konflik_sosial&from=" + iso(365),
             "/api/v1/stats/rising", "/api/v1/stats/rising?days=31&baseline_days=335"]
    for who, token in (("national analyst", national), ("city analyst (72.71)", city)):
        conn = http.client.HTTPConnection(host, timeout=60)
        s, st, s_first, st_first = [], [], [], []
        for kind, questions, out, firsts in (
                ("search", ["/api/v1/search?limit=20&" + q for q in searches], s, s_first),
                ("stats", stats, st, st_first)):
            for q in questions:
                ms, first = timed(conn, token, q)
                out.extend(ms)
                firsts.append(first)
                # each question's own figures, for finding the slow one
                print(f"national: {who}: {kind} {q}: first {first:.1f}, p50 {pct(ms, 0.5):.1f} p99 "
                      f"{pct(ms, 0.99):.1f} ms", file=sys.stderr)
        print(f"search p50 ms, {who}|{pct(s, 0.5):.1f}")
        print(f"search p99 ms, {who}|{pct(s, 0.99):.1f}")
        print(f"search asked the first time, slowest ms, {who}|{max(s_first):.1f}")
        print(f"stats p50 ms, {who}|{pct(st, 0.5):.1f}")
        print(f"stats p99 ms, {who}|{pct(st, 0.99):.1f}")
        print(f"stats asked the first time, slowest ms, {who}|{max(st_first):.1f}")


if sys.argv[1] == "wait":
    wait(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
else:
    measure(sys.argv[2], sys.argv[3], sys.argv[4])
