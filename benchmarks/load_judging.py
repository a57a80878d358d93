"""Load benchmark of judging: 100 simulated judges log in, open their score sheets, save drafts and
submit marks for 60 s against gunicorn on PostgreSQL (loopback), then the database is checked: every
save the server acknowledged is there, with its audit event, and the audit chain verifies.

The floor: in the same run, the same number of threads GET /healthz (no database, no session) from
the same gunicorn; the ratio says how much of the cost is the app's own work.

Two ways to start, both reported: by default every judge logs in at the same moment and goes
straight on (a login storm: each login is a production-strength argon2id hash); with
``--login-first`` all judges log in first (timed as their own phase) and the measured window is the
steady state of judging. ``--think S`` makes each judge pause a random 0…2·S seconds between
requests, like a person reading the sheet, and also before the first one, so the judges arrive spread
over it (0: back-to-back requests, a saturation test).

Targets (docs/deploy.md): 0 errors, 0 lost updates, p95 < 300 ms on the 2-core machine.
Run: .venv/bin/python benchmarks/load_judging.py [--duration 60] [--users 100] [--workers N]
     [--login-first] [--think S]
"""

from __future__ import annotations

import random
import tempfile
import time
from statistics import median
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests
from loadkit import (Gunicorn, Stats, arguments, conditions, csrf_token_from, drop_database, floor, fresh_database,
                     p95, percentiles, report, run_threads, setup_app, strong_password_hash)

PASSWORD = "Bench-judge-password-2026"
SHEETS_PER_JUDGE = 5
SAVES_BEFORE_SUBMIT = 3


def build(app, n_judges: int) -> list[dict]:
    """Judges, entries and confirmed assignments made through the operations layer; per judge
    {"email", "assignments": [(assignment id, sheet criteria ids)]}."""
    from sqlalchemy import select, update

    from award.auth.operations import create_user
    from award.demo import load_demo
    from award.extensions import db
    from award.judging.assign_ops import assign, confirm_assignment
    from award.models import (Agency, AgencyLevel, Edition, Entry, EntrySection, EntryStatus, Geography, Role,
                              Screening, StageEntry, User, utcnow)

    with app.app_context():
        load_demo()
        edition = db.session.scalar(select(Edition))
        stage = edition.stages[0]
        now = utcnow()
        stage.opens_at, stage.closes_at = now - timedelta(days=1), now + timedelta(days=1)
        organizer = db.session.scalar(select(User).where(User.role == Role.ORGANIZER))
        n_entries = max(SHEETS_PER_JUDGE * 4, n_judges)
        entries = []
        for index in range(n_entries):
            category = edition.categories[index % len(edition.categories)]
            if index % len(edition.categories) == 0:
                agency = Agency(code=f"BENCH-{index:05d}", name=f"效能測試機關{index:05d}", level=AgencyLevel.COUNTY,
                                county="澎湖縣", geography=Geography.OUTLYING_ISLAND, head_name="首長")
                db.session.add(agency)
            entry = Entry(category=category, agency=agency, title=f"廉能計畫{index:05d}", summary="摘要",
                          status=EntryStatus.SUBMITTED, screening=Screening.ELIGIBLE)
            entry.sections = [EntrySection(criterion_id=c.id, text=f"{c.name}的作為") for c in category.criteria]
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="eligible"))
            entries.append(entry)
        db.session.commit()
        judges = []
        for j in range(n_judges):
            judge = create_user(f"judge{j:03d}@bench.example", f"評審委員{j:03d}", Role.JUDGE, PASSWORD)
            mine = []
            for k in range(SHEETS_PER_JUDGE):
                entry = entries[(j + k * (n_entries // SHEETS_PER_JUDGE)) % n_entries]
                assignment = assign(stage, entry, judge, organizer)
                confirm_assignment(assignment, judge)
                mine.append((assignment.id, [c.id for c in entry.category.criteria]))
            judges.append({"email": judge.email, "id": judge.id, "assignments": mine})
        # Production-strength password hashes, so logging in costs what it costs in production.
        db.session.execute(update(User).where(User.email.like("%@bench.example"))
                           .values(password_hash=strong_password_hash(PASSWORD)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return judges


# gunicorn's keepalive in docs/examples/gunicorn.conf.py (seconds an idle connection is kept), a little less
SERVER_KEEPALIVE = 4.5


class Judge:
    """One simulated judge: logs in, then round the assignments: open the sheet, save a draft;
    after a few saves submit it. Remembers every acknowledged save."""

    def __init__(self, base: str, spec: dict, stats: Stats, stop: float, seed: int, think: float = 0.0):
        self.base, self.spec, self.stats, self.stop, self.think = base, spec, stats, stop, think
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.logged_in = False
        self.acked: dict[int, list[dict]] = {a: [] for a, _c in spec["assignments"]}  # assignment → acked saves

    def run(self) -> None:
        self.log_in()
        self.judge()

    def log_in(self, stats: Stats | None = None) -> None:
        stats, session = stats or self.stats, self.session
        page = stats.timed("login_form", lambda: session.get(f"{self.base}/login", timeout=120), (200,))
        if page is None:
            return
        done = stats.timed("login", lambda: session.post(f"{self.base}/login", timeout=120, allow_redirects=False, data={
            "email": self.spec["email"], "password": PASSWORD, "csrf_token": csrf_token_from(page.text)}), (302,))
        self.logged_in = done is not None

    def pause(self) -> None:
        if self.think > 0:
            seconds = min(self.rng.uniform(0, 2 * self.think), max(0.0, self.stop - time.monotonic()))
            time.sleep(seconds)
            if seconds >= SERVER_KEEPALIVE:
                self.reconnect()

    def reconnect(self) -> None:
        """gunicorn has closed an idle connection by now; a browser notices and reconnects, while a reused
        pooled socket can race the close and be reset: start afresh as the browser does."""
        for adapter in self.session.adapters.values():
            adapter.close()

    def judge(self) -> None:
        if not self.logged_in:
            return
        self.reconnect()  # the login phase may have left the connection idle
        self.pause()  # with a think time, judges arrive spread over it rather than in the same instant
        session, turn = self.session, 0
        while time.monotonic() < self.stop:
            assignment, criteria = self.spec["assignments"][turn % len(self.spec["assignments"])]
            turn += 1
            url = f"{self.base}/judging/sheets/{assignment}"
            sheet = self.stats.timed("open_sheet", lambda: session.get(url, timeout=60), (200,))
            self.pause()
            if sheet is None or time.monotonic() >= self.stop:
                continue
            saves = self.acked[assignment]
            if saves and saves[-1]["submit"]:
                continue  # submitted: only reading from now on
            submit = len(saves) >= SAVES_BEFORE_SUBMIT - 1
            marks = {c: str(Decimal(self.rng.randrange(2, 198)) / 2) for c in criteria}  # 1.0 … 98.5, no extremes
            form = {"csrf_token": csrf_token_from(sheet.text), "version": str(len(saves)),
                    "action": "submit" if submit else "save", "comment": f"第{len(saves) + 1}次儲存"}
            for c, score in marks.items():
                form[f"score-{c}"], form[f"comment-{c}"] = score, ""
            if submit:
                form["confirm_final"] = "y"
            kind = "submit" if submit else "save"
            saved = self.stats.timed(kind, lambda: session.post(url, data=form, allow_redirects=False, timeout=60),
                                     (303,))
            if saved is not None:
                saves.append({"marks": marks, "comment": form["comment"], "submit": submit})
            self.pause()


def check(app, judges: list[dict], simulated: list[Judge]) -> tuple[int, int, str]:
    """(acknowledged saves, lost ones, audit verdict): each sheet must hold its last acknowledged marks
    at the version of the number of saves, with one sheet_saved/sheet_submitted event per save."""
    from sqlalchemy import func, select

    from award.audit import verify_chain
    from award.extensions import db
    from award.models import Assignment, AuditEvent, ScoreSheet, SheetStatus

    acknowledged = lost = 0
    with app.app_context():
        events = dict(db.session.execute(
            select(AuditEvent.object_id, func.count(AuditEvent.id))
            .where(AuditEvent.action.in_(["sheet_saved", "sheet_submitted"])).group_by(AuditEvent.object_id)).all())
        for judge in simulated:
            for assignment_id, saves in judge.acked.items():
                acknowledged += len(saves)
                assignment = db.session.get(Assignment, assignment_id)
                sheet = db.session.scalar(select(ScoreSheet).where(
                    ScoreSheet.judge_id == assignment.judge_id, ScoreSheet.entry_id == assignment.entry_id,
                    ScoreSheet.stage_id == assignment.stage_id))
                if not saves:
                    lost += sheet is not None  # a sheet nobody was told was saved
                    continue
                last = saves[-1]
                stored = {m.criterion_id: m.score for m in sheet.marks} if sheet else {}
                intact = (sheet is not None and sheet.version == len(saves) and sheet.comment == last["comment"]
                          and stored == {c: Decimal(s) for c, s in last["marks"].items()}
                          and (sheet.status is SheetStatus.SUBMITTED) == last["submit"]
                          and events.get(str(sheet.id), 0) == len(saves))
                lost += 0 if intact else len(saves) - (sheet.version if sheet else 0) or 1
        verdict = verify_chain()
        db.engine.dispose()
    return acknowledged, lost, ("verifies: " if verdict.ok else "BROKEN: ") + verdict.message


def main() -> int:
    args = arguments(__doc__.splitlines()[0], duration=60, users=100, database="deploy_bench_judging",
                     extra=_judging_options)
    start = "all log in first" if args.login_first else "logging in at the same moment"
    print(f"load_judging: {args.users} judges for {args.duration:.0f} s, {start}, think time "
          f"{args.think:g} s — {conditions(args)}")
    url = fresh_database(args.server, args.database)
    with tempfile.TemporaryDirectory(prefix="award-load-") as folder:
        instance = Path(folder) / "instance"
        app = setup_app(url, instance, PASSWORD_HASHING="cheapest")
        started = time.perf_counter()
        judges = build(app, args.users)
        print(f"set-up: {args.users} judges × {SHEETS_PER_JUDGE} confirmed assignments in "
              f"{time.perf_counter() - started:.1f} s")
        try:
            with Gunicorn(url, instance, workers=args.workers, threads=args.threads,
                          env={"AWARD_RATELIMIT_ENABLED": "false"}) as server:  # hundreds log in from one address
                stats = Stats()
                simulated = [Judge(server.url, spec, stats, 0.0, seed, args.think) for seed, spec in enumerate(judges)]
                if args.login_first:
                    logins, began = Stats(), time.monotonic()
                    run_threads(lambda judge: judge.log_in(logins), len(simulated), simulated)
                    report("login phase (all judges at once)", logins, time.monotonic() - began)
                stop = time.monotonic() + args.duration
                for judge in simulated:
                    judge.stop = stop
                began = time.monotonic()
                run_threads((lambda judge: judge.judge()) if args.login_first else (lambda judge: judge.run()),
                            len(simulated), simulated)
                elapsed = time.monotonic() - began
                report("judging (per kind of request)", stats, elapsed, exclude=("login",))
                floor_seconds = max(5.0, args.duration / 4)
                floor_rate, floor_latencies = floor(server, args.users, floor_seconds)
                print(f"\nfloor: GET /healthz, {args.users} threads, {floor_seconds:.0f} s")
                print(f"  healthz      {percentiles(floor_latencies)}")
                print(f"  throughput   {floor_rate:8.1f} requests/s")
                rate = len(stats.all()) / elapsed
                steady = stats.all(exclude=("login",))
                print(f"  ratio        judging requests/s ÷ healthz requests/s = {rate / floor_rate:.2f}; "
                      f"p95 judging ÷ p95 healthz = {p95(steady) / max(p95(floor_latencies), 1e-9):.1f}")
                saves = stats.latencies.get("save", [])
                if saves:  # the floor: the score-sheet save itself against the bare endpoint
                    print(f"  save ÷ floor p50 {median(saves) / max(median(floor_latencies), 1e-9):.1f}, "
                          f"p95 {p95(saves) / max(p95(floor_latencies), 1e-9):.1f} (score-sheet save ÷ GET /healthz)")
            acknowledged, lost, audit = check(app, judges, simulated)
            print(f"\nintegrity: {acknowledged} acknowledged saves, {lost} lost; audit chain {audit}")
            ok = stats.error_count() == 0 and lost == 0 and audit.startswith("verifies")
            print(f"targets: errors 0 {'met' if stats.error_count() == 0 else 'MISSED'}; lost updates 0 "
                  f"{'met' if lost == 0 else 'MISSED'}; p95 < 300 ms (all but login) "
                  f"{'met' if p95(steady) < 0.3 else 'MISSED'} ({p95(steady) * 1000:.0f} ms)")
            return 0 if ok else 1
        finally:
            if not args.keep:
                drop_database(url)


def _judging_options(parser) -> None:
    parser.add_argument("--login-first", action="store_true",
                        help="log every judge in before the measured window (steady state of judging)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause in seconds between a judge's requests (default 0: back to back)")


if __name__ == "__main__":
    raise SystemExit(main())
