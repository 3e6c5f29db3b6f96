"""Alembic's migrations of the class board's tables (`cnn.classroom.database` runs them)."""
