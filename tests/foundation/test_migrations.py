"""The schema is made only by migrations: they must describe exactly what the models say."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from award.extensions import db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "models changed without a migration: run `award db migrate`"
