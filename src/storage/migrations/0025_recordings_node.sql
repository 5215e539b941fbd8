-- 0025: which node holds a recording's file (docs/design/0068-recordings-per-node.md).
-- node_id: the node that wrote the file into its own data directory; retention and horus
-- check on a node consider only its own rows, so no node deletes another's rows for files
-- it cannot see. '' for rows from before this migration (a single node's, as they were) and
-- for rows indexed by a command that did not know its node.
ALTER TABLE recordings ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
