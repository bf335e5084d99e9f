-- Users, vehicles, auctions and the per-auction event log.
-- Money is BIGINT whole currency units everywhere; timestamps are timestamptz (UTC).

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('bidder', 'seller', 'admin')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE vehicles (
    id           BIGSERIAL PRIMARY KEY,
    seller_id    BIGINT NOT NULL REFERENCES users (id),
    vin          CHAR(17) NOT NULL,
    make         TEXT NOT NULL,
    model        TEXT NOT NULL,
    year         INTEGER NOT NULL CHECK (year BETWEEN 1886 AND 2100),
    mileage      INTEGER NOT NULL CHECK (mileage >= 0),
    color        TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    photos       TEXT[] NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    search       TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple', make || ' ' || model || ' ' || description)
    ) STORED
);
CREATE INDEX vehicles_make_model_year_idx ON vehicles (lower(make), lower(model), year);
CREATE INDEX vehicles_year_idx ON vehicles (year, id);
CREATE INDEX vehicles_mileage_idx ON vehicles (mileage, id);
CREATE INDEX vehicles_newest_idx ON vehicles (created_at DESC, id DESC);
CREATE INDEX vehicles_seller_idx ON vehicles (seller_id);
CREATE INDEX vehicles_search_idx ON vehicles USING GIN (search);

CREATE TABLE auctions (
    id                  BIGSERIAL PRIMARY KEY,
    vehicle_id          BIGINT NOT NULL REFERENCES vehicles (id),
    seller_id           BIGINT NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL DEFAULT 'scheduled'
                        CHECK (status IN ('scheduled', 'open', 'closed', 'cancelled')),
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ NOT NULL,  -- the effective end, moved by extensions
    initial_ends_at     TIMESTAMPTZ,           -- the end as created, kept by the first extension
    starting_price      BIGINT NOT NULL CHECK (starting_price > 0),
    reserve_price       BIGINT CHECK (reserve_price > 0),
    buy_now_price       BIGINT CHECK (buy_now_price > 0),
    anti_snipe_seconds  INTEGER NOT NULL DEFAULT 120 CHECK (anti_snipe_seconds >= 0),
    max_extensions      INTEGER CHECK (max_extensions >= 0),
    -- Projection of the event log, kept by the persister in the same transaction.
    current_price       BIGINT,
    bid_count           INTEGER NOT NULL DEFAULT 0,
    leader_id           BIGINT REFERENCES users (id),
    leader_max          BIGINT,                -- hidden; never leaves the server
    extensions          INTEGER NOT NULL DEFAULT 0,
    bidder_count        INTEGER NOT NULL DEFAULT 0,  -- aliases handed out: bidder-1..N
    winner_id           BIGINT REFERENCES users (id),
    seq                 BIGINT NOT NULL DEFAULT 0,
    version             BIGINT NOT NULL DEFAULT 0,
    -- Fencing token: a node writes only while it holds the auction's current epoch.
    owner_epoch         BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX auctions_status_ends_idx ON auctions (status, ends_at, id);
CREATE INDEX auctions_vehicle_idx ON auctions (vehicle_id);
CREATE INDEX auctions_created_idx ON auctions (created_at DESC, id DESC);

-- The event log: every event an auction's actor produced, in order (version is dense per
-- auction). Public events carry a dense seq; private ones (a leader's silent max raise) do not.
CREATE TABLE auction_events (
    auction_id       BIGINT NOT NULL REFERENCES auctions (id),
    version          BIGINT NOT NULL,
    seq              BIGINT,
    type             TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    kind             TEXT CHECK (kind IN ('bid', 'max', 'proxy', 'buy_now')),
    bidder_id        BIGINT REFERENCES users (id),
    amount           BIGINT CHECK (amount > 0),
    leader_id        BIGINT REFERENCES users (id),  -- the winner, on a closed event
    leader_max       BIGINT,
    ends_at          TIMESTAMPTZ,
    reserve_met      BOOLEAN,
    cause_bidder_id  BIGINT,
    cause_bid_id     TEXT,
    cause_sent       BIGINT,
    payload          JSONB,
    PRIMARY KEY (auction_id, version)
);
-- Replay from a client's sinceSeq and the REST bid history (newest first, before=seq).
CREATE UNIQUE INDEX auction_events_seq_key ON auction_events (auction_id, seq)
    WHERE seq IS NOT NULL;
-- A bidder's alias in an auction, and a retried bidId, without reading the whole log.
CREATE INDEX auction_events_bidder_idx ON auction_events (auction_id, bidder_id)
    WHERE type = 'bid';
CREATE INDEX auction_events_bid_id_idx ON auction_events (auction_id, cause_bidder_id, cause_bid_id)
    WHERE cause_bid_id IS NOT NULL;
