-- Runs of pipeline versions, and the log lines of their user code.

CREATE TABLE runs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline_id       bigint NOT NULL,
    version           integer NOT NULL,
    status            text NOT NULL
        CHECK (status IN ('starting', 'running', 'succeeded', 'failed', 'stopped', 'lost')),
    workers           integer NOT NULL CHECK (workers BETWEEN 1 AND 16),
    epoch_interval_ms bigint NOT NULL CHECK (epoch_interval_ms > 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    ended_at          timestamptz,
    exit_code         integer,
    exit_reason       text,
    -- {step_id, node_id, kind, message, traceback} when the run failed.
    error             jsonb,
    -- The run's process: its pid and its start time in clock ticks since
    -- boot (/proc/<pid>/stat), so a server restarting later can tell that
    -- process from another one that reused the pid.
    pid               integer,
    pid_start_ticks   bigint,
    -- Log lines the run printed (the last seq), and how many were not kept.
    log_lines         bigint NOT NULL DEFAULT 0,
    log_dropped       bigint NOT NULL DEFAULT 0,
    FOREIGN KEY (pipeline_id, version) REFERENCES pipeline_versions (pipeline_id, number) ON DELETE CASCADE
);

CREATE INDEX runs_pipeline ON runs (pipeline_id, id DESC);
-- The runs that may still be alive: few, read at start-up.
CREATE INDEX runs_alive ON runs (id) WHERE status IN ('starting', 'running');

CREATE TABLE run_logs (
    run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    stream  text NOT NULL CHECK (stream IN ('stdout', 'stderr')),
    at      timestamptz NOT NULL,
    text    text NOT NULL,
    PRIMARY KEY (run_id, seq)
);
