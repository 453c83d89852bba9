"""The double-entry ledger: money in fen, transfers and their legs, the posting engine and the hash-chained journal."""
