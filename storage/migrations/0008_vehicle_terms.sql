-- The catalogue's words as a B-tree, so a free-text search is counted and sorted from an
-- index alone (storage/catalog_search.py, measured by bench/vehicles_query.py).
--
-- The GIN index on `vehicles.search` finds the matches, but PostgreSQL must then visit each
-- match's table page (a bitmap heap scan; GIN has no index-only scans): counting the 10,001
-- matches of a word in 30 % of descriptions read 2,600 pages, two such words 5,400. Here one
-- row per (lexeme, vehicle), with the make, year and sort keys carried in the index, turns the
-- same count into one index range per word (about 150 pages), merged on vehicle id.
--
-- `word` holds exactly the lexemes of `vehicles.search` (`to_tsvector('simple', …)`), so a
-- vehicle has every lexeme of `plainto_tsquery('simple', q)` exactly when it matches it. The
-- rows follow their vehicle through the triggers below, in the same transaction.
CREATE TABLE vehicle_terms (
    word        TEXT NOT NULL,
    vehicle_id  BIGINT NOT NULL,
    make        TEXT NOT NULL,  -- lower(vehicles.make)
    year        INTEGER NOT NULL,
    mileage     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (word, vehicle_id) INCLUDE (make, year, mileage, created_at)
);

CREATE FUNCTION vehicle_terms_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM vehicle_terms
        WHERE word = ANY (tsvector_to_array(OLD.search)) AND vehicle_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO vehicle_terms (word, vehicle_id, make, year, mileage, created_at)
        SELECT w, NEW.id, lower(NEW.make), NEW.year, NEW.mileage, NEW.created_at
        FROM unnest(tsvector_to_array(NEW.search)) AS w;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER vehicle_terms_insert AFTER INSERT ON vehicles
    FOR EACH ROW EXECUTE FUNCTION vehicle_terms_follow();
CREATE TRIGGER vehicle_terms_update AFTER UPDATE ON vehicles
    FOR EACH ROW
    WHEN (OLD.search IS DISTINCT FROM NEW.search OR OLD.make IS DISTINCT FROM NEW.make
          OR OLD.year IS DISTINCT FROM NEW.year OR OLD.mileage IS DISTINCT FROM NEW.mileage
          OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION vehicle_terms_follow();
CREATE TRIGGER vehicle_terms_delete AFTER DELETE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION vehicle_terms_follow();

INSERT INTO vehicle_terms (word, vehicle_id, make, year, mileage, created_at)
SELECT w, v.id, lower(v.make), v.year, v.mileage, v.created_at
FROM vehicles AS v, unnest(tsvector_to_array(v.search)) AS w;
