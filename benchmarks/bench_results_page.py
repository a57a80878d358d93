"""Benchmark of the results pages (award.results.views): 200 entries × 9 judges × 5 criteria, every
sheet submitted, trimmed mean at total level with two-stage rounding, in a temporary SQLite instance.

Prints the median server time (wall and CPU) of 5 GETs, after one warm-up, of the ranking page
through the Flask test client — the target is under 0.5 s — and, for information, of the what-if
and diagnostics pages. A script, not a test: it asserts only that the pages answer 200.
Run: .venv/bin/python benchmarks/bench_results_page.py [entries] [judges] [criteria] [categories]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal

from sqlalchemy import insert

PASSWORD = "Bench-organizer-2026"


def build(n_entries: int, n_judges: int, n_criteria: int, n_categories: int, seed: int = 2026) -> int:
    """The edition, its stage and every mark; returns the stage id (inside an app context)."""
    from award.auth.operations import create_user
    from award.extensions import db
    from award.models import (Agency, AgencyLevel, Aggregation, AwardTier, Category, Criterion, Edition, Entry,
                              EntryStatus, Geography, Mark, Role, ScoreSheet, Screening, SheetStatus, Stage,
                              StageEntry, utcnow)
    from award.models.agencies import COUNTIES

    rng = random.Random(seed)
    create_user("organizer@bench.example", "Bench organiser", Role.ORGANIZER, PASSWORD)
    judges = [create_user(f"judge{j}@bench.example", f"評審委員{j:02d}", Role.JUDGE, PASSWORD)
              for j in range(1, n_judges + 1)]
    weight = Decimal(100) / n_criteria
    edition = Edition(number=1, year=2026, name="效能測試屆次")
    edition.categories = [Category(name=f"組別{c + 1}", position=c, criteria=[
        Criterion(name=f"面向{k + 1}", position=k, weight=weight, max_score=Decimal(100), step=Decimal("0.5"))
        for k in range(n_criteria)]) for c in range(n_categories)]
    stage = Stage(name="書面審查", position=0, judges_per_entry=n_judges, aggregation=Aggregation.TRIMMED, trim=1,
                  trim_level="total", round_each_stage=True, decimals=2)
    edition.stages = [stage]
    edition.tiers = [AwardTier(name="特優", position=0, min_total=Decimal(85), quota=10),
                     AwardTier(name="優選", position=1, min_total=Decimal(80))]
    db.session.add(edition)
    db.session.flush()
    geographies = list(Geography)
    now = utcnow()
    for e in range(n_entries):
        agency = Agency(code=f"B{e:05d}", name=f"測試機關{e:03d}", level=AgencyLevel.TOWNSHIP,
                        county=COUNTIES[e % len(COUNTIES)], geography=geographies[e % 3], head_name="首長")
        category = edition.categories[e % n_categories]
        entry = Entry(category=category, agency=agency, title=f"廉能計畫第{e:03d}號", status=EntryStatus.SUBMITTED,
                      screening=Screening.ELIGIBLE)
        db.session.add(entry)
        db.session.flush()
        db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
        quality = rng.uniform(65, 95)
        for judge in judges:
            sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=stage.id, status=SheetStatus.SUBMITTED,
                               submitted_at=now)
            db.session.add(sheet)
            db.session.flush()
            db.session.execute(insert(Mark), [
                {"sheet_id": sheet.id, "criterion_id": criterion.id,
                 "score": Decimal(str(min(100.0, max(0.0, round((quality + rng.gauss(0, 4)) * 2) / 2))))}
                for criterion in category.criteria])
    db.session.commit()
    return stage.id


def timed(client, url: str, runs: int) -> tuple[float, float, int]:
    """Median wall time and median CPU time of ``runs`` GETs (the test client runs the request in
    this thread, so the process's CPU time is the request's: steadier on a busy machine)."""
    client.get(url)  # warm-up: templates compiled, caches filled
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(walls), statistics.median(cpus), len(response.data)


def main(argv: list[str]) -> None:
    n_entries = int(argv[1]) if len(argv) > 1 else 200
    n_judges = int(argv[2]) if len(argv) > 2 else 9
    n_criteria = int(argv[3]) if len(argv) > 3 else 5
    n_categories = int(argv[4]) if len(argv) > 4 else 2
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AWARD_INSTANCE_PATH"] = folder
        from flask_migrate import upgrade

        from award import create_app
        from award.results import views

        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                          "PASSWORD_HASHING": "cheapest"})
        if views.bp.name not in app.blueprints:
            app.register_blueprint(views.bp)
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            stage_id = build(n_entries, n_judges, n_criteria, n_categories)
            print(f"{n_entries} entries × {n_judges} judges × {n_criteria} criteria in {n_categories} categories "
                  f"({n_entries * n_judges * n_criteria} marks), built in {time.perf_counter() - started:.1f} s")
        client = app.test_client()
        login = client.post("/login", data={"email": "organizer@bench.example", "password": PASSWORD})
        assert login.status_code == 302, login.status_code
        for label, url, runs in (("ranking page (target < 0.5 s)", f"/results/stages/{stage_id}", 5),
                                 ("what-if page (mean)", f"/results/stages/{stage_id}/whatif?method=mean", 5),
                                 ("diagnostics page (bootstrap 500)", f"/results/stages/{stage_id}/diagnostics", 3)):
            wall, cpu, size = timed(client, url, runs)
            print(f"{label:<36} median of {runs}: {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU   "
                  f"{size / 1024:4.0f} KiB")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")


if __name__ == "__main__":
    main(sys.argv)
