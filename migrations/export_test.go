package migrations

import "context"

// UpTo applies the migrations up to and including version, as a release
// that shipped only those did (for the upgrade tests).
func UpTo(ctx context.Context, dsn string, version int64) error {
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := newProvider(db)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
