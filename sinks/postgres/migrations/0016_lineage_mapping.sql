-- The parser mapping that extracted each record (issue 17: the console's
-- feed quality per hotel and mapping, e.g. "ota2003", "ota2001" or a
-- vendor's mapping file). '' for rows written before, and for a held
-- record's row written at its release when its message's own audit write
-- had not happened yet. On the partitioned parent: every partition gets
-- the column (a constant default: no table rewrite).
ALTER TABLE audit_records ADD COLUMN mapping text NOT NULL DEFAULT '';
