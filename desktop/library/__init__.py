"""Qt-free core of Earmark: the sound library in SQLite, scanning, the job queue, search, export."""
