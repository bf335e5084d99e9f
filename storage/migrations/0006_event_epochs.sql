-- Which owner epoch wrote each event (CONTRACT §7). The fenced append stores the epoch the
-- writing node held, so a history check can prove from the log alone that two nodes never
-- decided one auction at once: along an auction's versions the epochs never go down.
-- Events written before this migration (and by the single-node row-lock baseline) have NULL.
ALTER TABLE auction_events ADD COLUMN owner_epoch BIGINT;
