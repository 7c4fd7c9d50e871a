package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// optTime stores a time.Time whose zero value means "not set" as NULL.
func optTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// optText stores an empty string as NULL.
func optText(s string) pgtype.Text {
	return pgtype.Text{String: s, Valid: s != ""}
}

// scanOptTime scans a nullable timestamptz into a time.Time, NULL becoming
// the zero time.
type scanOptTime struct{ dst *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (s scanOptTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*s.dst = time.Time{}
		return nil
	}
	*s.dst = v.Time.UTC()
	return nil
}
