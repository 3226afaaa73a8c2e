-- Operations console (issue 17): a dead letter knows the hotel its message
-- names and the class of its reason, so that the console lists the letters
-- of one hotel or of one reason class and counts them per hotel and class.
--
-- hotel_code is the hotel the message names, best effort ('' when it is
-- unknown: the message did not parse far enough and names none in its
-- first 64 KiB); bytewise (COLLATE "C") like every other key column
-- (0007), so that it compares with audit_records.hotel_code. reason_class
-- is the reason's class as the metric resingest_dead_letters_total{reason}
-- counts it ("malformed XML", "invalid reservation", "dynamo refused",
-- "unresolved", ...). Letters stored before this migration have '' in both.
--
-- Adding a column with a constant default rewrites no row. The indexes are
-- created on the partitioned parent, so every partition (existing, default
-- and future: resingest_month_partition's ATTACH) gets them; building them
-- locks dead_letters against writes for the time it takes, short for a
-- table of poison messages.
ALTER TABLE dead_letters
    ADD COLUMN hotel_code   text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN reason_class text             NOT NULL DEFAULT '';

-- The console's filtered lists and its counts over a time window.
CREATE INDEX dead_letters_reason_class_idx ON dead_letters (reason_class, received_at);
CREATE INDEX dead_letters_hotel_code_idx ON dead_letters (hotel_code, received_at);
