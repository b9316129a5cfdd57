-- Every resource as its JSON document, plus the columns filters and pagination use.
CREATE TABLE resources (
    kind        VARCHAR NOT NULL,
    key         VARCHAR NOT NULL,
    doc         VARCHAR NOT NULL,
    cluster     VARCHAR,
    family      VARCHAR,
    revision    BIGINT,
    status      VARCHAR,
    service     VARCHAR,
    started_by  VARCHAR,
    created_at  DOUBLE,
    PRIMARY KEY (kind, key)
);
