"""The class board: a teacher's class of students, their shared runs and their wall of pictures.

Kept in a real database through SQLAlchemy (SQLite under ~/.cnn_lab by default, any URL in
CNN_DB_URL), migrated with Alembic. One job a module:

- models: the tables; migrations/: Alembic's scripts; database: the engine, migrated on first use
- keys: class codes and teacher keys (made with `secrets`, hashed, compared in constant time)
- limits: what one class may hold, and the rate limit on joining
- store: the operations (create, join, share, submit, show, remove, delete); rows: what they return
- pictures: a picture as the wall stores it; run_cache: a stored run back into a run folder
- board: what the teacher's board computes with TensorFlow (answers, summed confusion)
- class_dataset: picked pictures as a dataset zip that "Your own images" trains on
"""

from cnn.classroom.errors import ClassError
from cnn.classroom.limits import ClassLimits, JoinLimiter
from cnn.classroom.rows import Board, Member, NewClass, RunRow, StudentRow, SubmissionRow
from cnn.classroom.store import ClassStore

__all__ = [
    "Board",
    "ClassError",
    "ClassLimits",
    "ClassStore",
    "JoinLimiter",
    "Member",
    "NewClass",
    "RunRow",
    "StudentRow",
    "SubmissionRow",
]
