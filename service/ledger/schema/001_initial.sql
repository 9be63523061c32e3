-- The ledger. Every change is an event (append-only, keyed hash chain) written in the same
-- transaction as the state rows it changes; state rows are what queries read.

CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'facilitator', 'intake')),
    name       TEXT NOT NULL,
    email      TEXT,
    levels     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    date             TEXT NOT NULL,
    start_time       TEXT,
    timezone         TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    facilitators     TEXT NOT NULL,
    level            TEXT NOT NULL CHECK (level IN ('central', 'hub')),
    organization     TEXT,
    title            TEXT NOT NULL,
    delivery         TEXT NOT NULL CHECK (delivery IN ('online', 'in_person')),
    owner_token_id   INTEGER REFERENCES tokens (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX sessions_date ON sessions (date);
CREATE INDEX sessions_owner ON sessions (owner_token_id, date);

CREATE TABLE list_versions (
    session_id   TEXT NOT NULL REFERENCES sessions (id),
    version      INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    PRIMARY KEY (session_id, version)
) WITHOUT ROWID;

CREATE TABLE attendees (
    session_id         TEXT NOT NULL,
    version            INTEGER NOT NULL,
    position           INTEGER NOT NULL,
    email_key          TEXT NOT NULL,
    email              TEXT NOT NULL,
    name               TEXT NOT NULL,
    core_trained       INTEGER NOT NULL,
    full_participation INTEGER NOT NULL,
    pronouns           TEXT,
    PRIMARY KEY (session_id, version, email_key),
    FOREIGN KEY (session_id, version) REFERENCES list_versions (session_id, version)
) WITHOUT ROWID;
CREATE INDEX attendees_email ON attendees (email_key);

CREATE TABLE certificates (
    serial       TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id),
    email_key    TEXT NOT NULL,
    email        TEXT NOT NULL,
    holder_name  TEXT NOT NULL,
    list_version INTEGER NOT NULL,
    supersedes   TEXT UNIQUE REFERENCES certificates (serial),
    issued_at    TEXT NOT NULL,
    verify_url   TEXT NOT NULL,
    content      TEXT NOT NULL,
    pdf_sha256   TEXT NOT NULL
);
-- One first certificate per session and email, and at most one successor per certificate:
-- the database itself refuses a duplicate issued by a race.
CREATE UNIQUE INDEX certificates_one_per_attendee
    ON certificates (session_id, email_key, coalesce(supersedes, ''));
CREATE INDEX certificates_email ON certificates (email_key);

CREATE TABLE certificate_pdfs (
    serial TEXT PRIMARY KEY REFERENCES certificates (serial),
    pdf    BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE revocations (
    serial                  TEXT PRIMARY KEY REFERENCES certificates (serial),
    revoked_at              TEXT NOT NULL,
    reason                  TEXT NOT NULL,
    revoked_by              TEXT NOT NULL,
    list_version_at_revocation INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE certificate_requests (
    id               TEXT PRIMARY KEY,
    email_key        TEXT NOT NULL,
    email            TEXT NOT NULL,
    date             TEXT NOT NULL,
    facilitator      TEXT,
    start_time       TEXT,
    message_id       TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('issued', 'pending', 'rejected')),
    reason           TEXT,
    message          TEXT NOT NULL,
    session_id       TEXT REFERENCES sessions (id),
    serial           TEXT REFERENCES certificates (serial),
    decided_at       TEXT NOT NULL,
    -- the outcome the attendee was last told (at the POST, or marked notified since)
    told_outcome     TEXT NOT NULL,
    notified_at      TEXT
);
CREATE INDEX certificate_requests_email ON certificate_requests (email_key, date);
CREATE INDEX certificate_requests_open ON certificate_requests (outcome, date);
CREATE INDEX certificate_requests_session ON certificate_requests (session_id);
CREATE INDEX certificate_requests_untold ON certificate_requests (decided_at)
    WHERE outcome <> told_outcome;
