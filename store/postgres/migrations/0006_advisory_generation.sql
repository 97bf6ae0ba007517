-- Version 6: the advisory generation, a counter moved in the transaction of
-- every write that changes the advisories (an insert, an update, a
-- withdrawal). A replica keeps the whole history indexed in memory, with
-- the verdict of every package tuple, for as long as the generation stays.

CREATE TABLE advisory_generation (
	only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	generation bigint NOT NULL
);
INSERT INTO advisory_generation (generation) VALUES (0);
