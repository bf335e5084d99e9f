-- The marketplace's sales record, which the valuations of CONTRACT §8 rest on.
--
-- A sale is a closed auction with a winner (the reserve was met, or there was none; a
-- buy-now is one): its vehicle as it was at the close and the final price. The trigger below
-- writes it in the transaction that closes the auction, whichever engine closes it, and
-- announces it on the channel `bidserver_sales` (delivered at commit, to every node), so a
-- node's cached valuations of that make and model are dropped as soon as the sale exists.
-- Unsold and cancelled auctions are never sales. Rows without an auction are an imported
-- sales history (the demo's, from `bidserver seed-demo`).
--
-- Numbered after its issue (14) so that parallel branches' 0004s do not collide; migrations
-- are applied by version, each once, so the gap is harmless.
CREATE TABLE sales (
    id          BIGSERIAL PRIMARY KEY,
    auction_id  BIGINT UNIQUE REFERENCES auctions (id) ON DELETE CASCADE,
    make        TEXT NOT NULL,
    model       TEXT NOT NULL,
    year        INTEGER NOT NULL,
    mileage     INTEGER NOT NULL CHECK (mileage >= 0),
    price       BIGINT NOT NULL CHECK (price > 0),
    sold_at     TIMESTAMPTZ NOT NULL,
    source      TEXT NOT NULL DEFAULT 'auction' CHECK (source IN ('auction', 'history')),
    -- How makes and models are matched: trimmed, inner spaces single, lower case (the same
    -- rule as bidserver.pricing.key).
    make_key    TEXT GENERATED ALWAYS AS (lower(regexp_replace(btrim(make), '\s+', ' ', 'g'))) STORED,
    model_key   TEXT GENERATED ALWAYS AS (lower(regexp_replace(btrim(model), '\s+', ' ', 'g'))) STORED
);
-- A make's or a model's sales in the order the model reads them, from the index alone.
CREATE INDEX sales_make_model_year_idx ON sales (make_key, model_key, year)
    INCLUDE (mileage, price, sold_at);

CREATE FUNCTION record_sale() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v RECORD;
BEGIN
    SELECT make, model, year, mileage INTO v FROM vehicles WHERE id = NEW.vehicle_id;
    INSERT INTO sales (auction_id, make, model, year, mileage, price, sold_at)
    VALUES (NEW.id, v.make, v.model, v.year, v.mileage, NEW.current_price,
            LEAST(NEW.ends_at, now()))
    ON CONFLICT (auction_id) DO NOTHING;
    PERFORM pg_notify('bidserver_sales', json_build_object('make', v.make, 'model', v.model)::text);
    RETURN NULL;
END
$$;

-- The WHEN clauses keep the persister's every other row update free of any call.
CREATE TRIGGER auctions_sale_on_update AFTER UPDATE ON auctions FOR EACH ROW
    WHEN (NEW.status = 'closed' AND OLD.status <> 'closed'
          AND NEW.winner_id IS NOT NULL AND NEW.current_price IS NOT NULL)
    EXECUTE FUNCTION record_sale();
CREATE TRIGGER auctions_sale_on_insert AFTER INSERT ON auctions FOR EACH ROW
    WHEN (NEW.status = 'closed' AND NEW.winner_id IS NOT NULL AND NEW.current_price IS NOT NULL)
    EXECUTE FUNCTION record_sale();

-- Sales closed before this migration.
INSERT INTO sales (auction_id, make, model, year, mileage, price, sold_at)
SELECT a.id, v.make, v.model, v.year, v.mileage, a.current_price, LEAST(a.ends_at, a.updated_at)
FROM auctions a JOIN vehicles v ON v.id = a.vehicle_id
WHERE a.status = 'closed' AND a.winner_id IS NOT NULL AND a.current_price IS NOT NULL;
