-- The operations console (issue 17) shows guests' personal data to staff
-- with the ops-pii role and records every such view here: caller_kind
-- 'staff', caller_id the staff member's token subject (a staff id, not
-- personal data of a guest).
--
-- The caller_kind check of 0004/0010 allowed guests and partners only. A
-- database migrated in place carries it twice (the partitioned parent's,
-- inherited by every partition, and the old table's own, now the default
-- partition's, as pii_access_caller_kind_check1), so every such check is
-- dropped, the parent's first (which takes its inherited copies with it),
-- and one check for the three kinds is added on the parent.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT con.conrelid::regclass AS tbl, con.conname
        FROM pg_constraint con
        WHERE con.contype = 'c' AND con.conname LIKE 'pii\_access\_caller\_kind\_check%'
            AND (con.conrelid = 'pii_access'::regclass
                OR con.conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'pii_access'::regclass))
        ORDER BY con.conrelid = 'pii_access'::regclass DESC, con.conislocal DESC
    LOOP
        -- An inherited copy is gone with the parent's constraint.
        IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = c.tbl AND conname = c.conname) THEN
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
        END IF;
    END LOOP;
END $$;
ALTER TABLE pii_access ADD CONSTRAINT pii_access_caller_kind_check
    CHECK (caller_kind IN ('guest', 'partner', 'staff'));
