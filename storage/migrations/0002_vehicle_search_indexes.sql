-- Indexes for GET /vehicles (storage/catalog.py), measured by bench/vehicles_query.py.
--
-- Every page also needs its total, and a filtered page is found by sorting the matches' sort
-- keys (see catalog.search_vehicles), so both should read only the index. PostgreSQL answers
-- from an expression index alone (index-only scan) only when the index also holds the columns
-- the expression reads, hence the INCLUDEs of make and model; the sort keys (id, year,
-- mileage, created_at) ride along so that sorting the matches never touches the table.
DROP INDEX vehicles_make_model_year_idx;
CREATE INDEX vehicles_make_model_year_idx ON vehicles (lower(make), lower(model), year)
    INCLUDE (make, model, id, mileage, created_at);

DROP INDEX vehicles_year_idx;
CREATE INDEX vehicles_year_idx ON vehicles (year, id) INCLUDE (mileage, created_at);

-- "This make, newest first" (the marketplace's most common page) and its deep pages: one
-- index range instead of the whole newest-first index.
CREATE INDEX vehicles_make_newest_idx ON vehicles (lower(make), created_at DESC, id DESC)
    INCLUDE (make);
