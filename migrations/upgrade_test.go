package migrations_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// released are the migration versions that shipped, at the last version
// of each release: a database in the field has exactly one of these sets
// applied. goose refuses to apply a file numbered below the highest
// applied version ("missing migrations"), so a new file must be numbered
// above every released one, never in a gap.
var released = map[string][]int64{
	"session 3 (issues 12–17)":     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 17, 18, 19, 20, 21, 22},
	"session 4 (issues 18–21)":     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31},
	"session 5 (issue 21, review)": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31, 32, 33},
}

// TestNewFilesAreNumberedAboveReleases fails on a new migration that takes
// a number in a gap below a released version.
func TestNewFilesAreNumberedAboveReleases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("sql", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for name, versions := range released {
		top := slices.Max(versions)
		for _, f := range files {
			v, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if v <= top && !slices.Contains(versions, v) {
				t.Errorf("%s is numbered below %05d, the last migration of %s, in a gap: databases of that release "+
					"cannot apply it; number it above every released file", f, top, name)
			}
		}
	}
}

// TestUpgradeFromReleases migrates a database to each released schema,
// then runs Up as the new release does.
func TestUpgradeFromReleases(t *testing.T) {
	for name, versions := range released {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dsn := pgtest.NewEmptyDatabase(t)
			if err := migrations.UpTo(ctx, dsn, slices.Max(versions)); err != nil {
				t.Fatalf("migrate to the released schema: %v", err)
			}
			if err := migrations.Up(ctx, dsn); err != nil {
				t.Fatalf("Up from the %s schema: %v", name, err)
			}
			if n, err := migrations.Pending(ctx, dsn); err != nil || n != 0 {
				t.Errorf("Pending after the upgrade = %d, %v; want 0", n, err)
			}
		})
	}
}
