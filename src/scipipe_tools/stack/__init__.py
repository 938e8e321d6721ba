"""An EUPS stack on disk (ups_db, tags, declare, setup), EUPS files from disk or a server."""
