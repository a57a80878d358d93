"""scoring/ must stay a pure library: no web framework, ORM or app import."""

import subprocess
import sys


def test_importing_scoring_pulls_in_no_flask_sqlalchemy_or_app(root):
    code = ("import scoring, scoring.__main__, scoring.csvio, scoring.diagnostics, sys; "
            "assert scoring.__file__, 'namespace package'; "
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'award', 'werkzeug'}); "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_no_source_file_mentions_them(root):
    for path in (root / "scoring").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("flask", "sqlalchemy", "from award", "import award"):
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)
