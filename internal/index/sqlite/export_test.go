package sqlite

import "context"

// Pragmas returns the durability settings of the writer and whether readers are query_only.
func (db *DB) Pragmas(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, p := range []string{"journal_mode", "synchronous", "foreign_keys"} {
		var v string
		if err := db.wdb.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err == nil {
			out[p] = v
		}
	}
	var v string
	if err := db.rdb.QueryRowContext(ctx, "PRAGMA query_only").Scan(&v); err == nil {
		out["query_only"] = v
	}
	return out
}
