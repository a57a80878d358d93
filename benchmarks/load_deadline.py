"""Load benchmark of the submission deadline: 200 agency contacts at once log in, save their entry's
draft, upload a 5 MB attachment through tus (1 MB chunks, SHA-1 checksums) and save the draft again,
against gunicorn on PostgreSQL (loopback). Then every acknowledged draft must be in the database and
every file must be stored byte for byte (SHA-256 of the stored blob); the audit chain must verify.

Targets (docs/deploy.md): 0 errors, 0 lost drafts, 0 corrupt files.
Run: .venv/bin/python benchmarks/load_deadline.py [--users 200] [--size-mb 5] [--workers N]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

import requests
from loadkit import (ROOT, Gunicorn, Stats, arguments, conditions, csrf_token_from, drop_database, fresh_database,
                     p95, report, run_threads, setup_app, strong_password_hash)

PASSWORD = "Bench-agency-password-2026"
MIB = 1024 * 1024
SIZE_MB = 5
for index, flag in enumerate(sys.argv):  # --size-mb is this script's own; take it out before loadkit parses
    if flag == "--size-mb":
        SIZE_MB = int(sys.argv[index + 1])
        del sys.argv[index:index + 2]
        break


def build(app, n_agencies: int) -> list[dict]:
    """An agency, its contact and a draft entry (``start_entry``, as the page does) per simulated user."""
    from sqlalchemy import select, update

    from award.auth.operations import create_user
    from award.demo import load_demo
    from award.entries.operations import start_entry
    from award.extensions import db
    from award.models import Agency, AgencyLevel, Edition, Geography, Role, User

    users = []
    with app.app_context():
        load_demo()
        edition = db.session.scalar(select(Edition))
        edition.attachment_max_mb = max(edition.attachment_max_mb, SIZE_MB + 1)
        for index in range(n_agencies):
            agency = Agency(code=f"BENCH-{index:05d}", name=f"效能測試鄉公所{index:05d}", level=AgencyLevel.TOWNSHIP,
                            county="臺東縣", geography=Geography.OUTLYING_ISLAND, head_name="鄉長")
            db.session.add(agency)
            db.session.flush()
            contact = create_user(f"agency{index:05d}@bench.example", f"聯絡人{index:05d}", Role.AGENCY, PASSWORD,
                                  agency=agency)
            entry, _created = start_entry(edition.categories[index % 2], contact)
            users.append({"email": contact.email, "entry": entry.id})
        db.session.execute(update(User).where(User.email.like("%@bench.example"))
                           .values(password_hash=strong_password_hash(PASSWORD)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return users


def sample_file(folder: Path, index: int) -> tuple[Path, str]:
    """A valid PDF of SIZE_MB, different for each agency; (path, SHA-256)."""
    sys.path.insert(0, str(ROOT / "tests" / "hostile"))
    import hostile_corpus

    pdf = hostile_corpus.pdf_bytes(f"Agency {index}")
    body = (f"%agency {index:05d} ".encode() * (SIZE_MB * MIB // 20))[: SIZE_MB * MIB - len(pdf) - 8]
    data = pdf + body + b"\n%%EOF\n"
    path = folder / f"成果報告-{index:05d}.pdf"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


class Agency:
    def __init__(self, base: str, spec: dict, stats: Stats, path: Path):
        self.base, self.spec, self.stats, self.path = base, spec, stats, path
        self.drafts: list[str] = []  # acknowledged titles, in order
        self.attachment_id: str | None = None

    def save_draft(self, session, token: str, title: str) -> None:
        data = {"csrf_token": token, "draft_version": str(len(self.drafts) + 1), "title": title,
                "summary": f"{title}：摘要"}
        saved = self.stats.timed("draft", lambda: session.post(
            f"{self.base}/entries/{self.spec['entry']}/autosave", data=data, timeout=120), (200,))
        if saved is not None and saved.json().get("ok"):
            self.drafts.append(title)

    def run(self) -> None:
        from tusclient import client as tus_client

        session = requests.Session()
        page = self.stats.timed("login_form", lambda: session.get(f"{self.base}/login", timeout=120), (200,))
        if page is None or self.stats.timed("login", lambda: session.post(
                f"{self.base}/login", allow_redirects=False, timeout=120, data={
                    "email": self.spec["email"], "password": PASSWORD, "csrf_token": csrf_token_from(page.text)}),
                (302,)) is None:
            return
        edit = self.stats.timed("edit_page", lambda: session.get(
            f"{self.base}/entries/{self.spec['entry']}/edit", timeout=120), (200,))
        if edit is None:
            return
        token = csrf_token_from(edit.text)
        self.save_draft(session, token, "離島廉能治理計畫（初稿）")
        headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies), "X-CSRFToken": token,
                   "User-Agent": session.headers["User-Agent"]}
        started = time.perf_counter()
        try:
            uploader = tus_client.TusClient(f"{self.base}/uploads/tus/", headers=headers).uploader(
                str(self.path), chunk_size=MIB, upload_checksum=True, retries=0,
                metadata={"entry_id": str(self.spec["entry"]), "filename": self.path.name})
            uploader.upload()
            self.attachment_id = uploader.request.response_headers.get("x-award-attachment-id")
            with self.stats.lock:
                self.stats.latencies["upload_5mb" if SIZE_MB == 5 else f"upload_{SIZE_MB}mb"].append(
                    time.perf_counter() - started)
        except Exception as error:  # noqa: BLE001  (tuspy raises its own and requests' errors)
            self.stats.fail("upload", f"{type(error).__name__}: {error}")
        self.save_draft(session, token, "離島廉能治理計畫（定稿）")


def check(app, simulated: list[Agency], hashes: list[str]) -> tuple[int, int, int, str]:
    """(drafts acknowledged, lost drafts, corrupt or missing files, audit verdict)."""
    from sqlalchemy import select

    from award.audit import verify_chain
    from award.entries import storage
    from award.extensions import db
    from award.models import Attachment, Entry

    acknowledged = lost = corrupt = 0
    with app.app_context():
        for agency, digest in zip(simulated, hashes, strict=True):
            entry = db.session.get(Entry, agency.spec["entry"])
            acknowledged += len(agency.drafts)
            if agency.drafts and (entry.title != agency.drafts[-1] or entry.draft_version != len(agency.drafts) + 1):
                lost += 1
            files = db.session.scalars(select(Attachment).where(Attachment.entry_id == entry.id)).all()
            if agency.attachment_id is None:
                continue
            stored = [a for a in files if str(a.id) == agency.attachment_id]
            if len(stored) != 1 or stored[0].sha256 != digest:
                corrupt += 1
                continue
            with storage.open_blob(stored[0].storage_key) as blob:
                sha = hashlib.sha256()
                while chunk := blob.read(MIB):
                    sha.update(chunk)
            corrupt += sha.hexdigest() != digest
        verdict = verify_chain()
        db.engine.dispose()
    return acknowledged, lost, corrupt, ("verifies: " if verdict.ok else "BROKEN: ") + verdict.message


def main() -> int:
    args = arguments(__doc__.splitlines()[0], duration=0, users=200, database="deploy_bench_deadline")
    print(f"load_deadline: {args.users} agencies at once, {SIZE_MB} MB each — {conditions(args)}")
    url = fresh_database(args.server, args.database)
    with tempfile.TemporaryDirectory(prefix="award-load-") as folder:
        instance, files = Path(folder) / "instance", Path(folder) / "files"
        files.mkdir()
        app = setup_app(url, instance, PASSWORD_HASHING="cheapest")
        started = time.perf_counter()
        specs = build(app, args.users)
        samples = [sample_file(files, index) for index in range(args.users)]
        print(f"set-up: {args.users} agencies, contacts, draft entries and files in {time.perf_counter() - started:.1f} s")
        try:
            with Gunicorn(url, instance, workers=args.workers, threads=args.threads,
                          env={"AWARD_RATELIMIT_ENABLED": "false"}) as server:  # hundreds log in from one address
                stats = Stats()
                simulated = [Agency(server.url, spec, stats, path) for spec, (path, _d) in zip(specs, samples)]
                began = time.monotonic()
                run_threads(lambda agency: agency.run(), len(simulated), simulated)
                elapsed = time.monotonic() - began
                report("deadline (per kind of request; upload = the whole tus upload)", stats, elapsed,
                       exclude=("login", "upload_5mb"))
                chunks = [r for r in server.access_records() if r.method == "PATCH"]
                print(f"  tus chunks   {len(chunks)} PATCH requests over {len({r.pid for r in chunks})} worker pids")
            acknowledged, lost, corrupt, audit = check(app, simulated, [d for _p, d in samples])
            uploaded = sum(a.attachment_id is not None for a in simulated)
            print(f"\nintegrity: {acknowledged} acknowledged drafts, {lost} lost; {uploaded}/{args.users} files "
                  f"stored, {corrupt} corrupt; audit chain {audit}")
            steady = stats.all(exclude=("login", "upload_5mb"))
            ok = stats.error_count() == 0 and lost == 0 and corrupt == 0 and audit.startswith("verifies")
            print(f"targets: errors 0 {'met' if stats.error_count() == 0 else 'MISSED'}; lost drafts 0 "
                  f"{'met' if lost == 0 else 'MISSED'}; corrupt files 0 {'met' if corrupt == 0 else 'MISSED'}; "
                  f"p95 of page/draft requests {p95(steady) * 1000:.0f} ms")
            return 0 if ok else 1
        finally:
            if not args.keep:
                drop_database(url)


if __name__ == "__main__":
    raise SystemExit(main())
