-- The tracker's write lock and generation, postgres flavour (mirrors the other folder's 0004).
-- Every tracker writer group starts by incrementing the generation (origin/src/store/visits.rs,
-- next_generation): the row lock serialises writers of several origin processes, and a writer
-- that sees a generation other than its own last one plus one knows another process wrote
-- meanwhile and drops what it remembers of open visits.
CREATE TABLE tracker_writer (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO tracker_writer (id, generation) VALUES (1, 0);
