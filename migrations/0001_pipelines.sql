-- Pipelines and their immutable versions. Runs get their own migration.

CREATE TABLE pipelines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every save is a new row; rows are never updated, so any version can be
-- fetched and compared later.
CREATE TABLE pipeline_versions (
    pipeline_id bigint NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    number      integer NOT NULL CHECK (number >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    note        text NOT NULL DEFAULT '',
    pipeline    jsonb NOT NULL,
    PRIMARY KEY (pipeline_id, number)
);

-- Versions are immutable: refuse updates at the database too.
CREATE FUNCTION pipeline_versions_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pipeline versions are immutable; save a new version instead';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_versions_no_update
    BEFORE UPDATE ON pipeline_versions
    FOR EACH ROW EXECUTE FUNCTION pipeline_versions_immutable();

CREATE INDEX pipelines_updated_at ON pipelines (updated_at DESC);
