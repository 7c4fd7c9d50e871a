package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/monban-idp/monban/storage"
)

// SQLSTATE codes that map to storage sentinels.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// wrapErr is the one place PostgreSQL errors become storage errors. The
// result reads "postgres: <operation>: <cause>" and wraps both the storage
// sentinel (for errors.Is) and the driver error (for errors.As):
//   - no row: storage.ErrNotFound;
//   - unique violation: storage.ErrAlreadyExists;
//   - foreign key violation: storage.ErrNotFound (a referenced row, such as
//     the client of a new authorization request, does not exist);
//   - serialization failure or deadlock: storage.ErrConflict (a concurrent
//     transaction won; the caller may retry).
//
// Any other error is wrapped with the context only.
func wrapErr(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		var sentinel error
		switch pgErr.Code {
		case codeUniqueViolation:
			sentinel = storage.ErrAlreadyExists
		case codeForeignKeyViolation:
			sentinel = storage.ErrNotFound
		case codeSerializationFailure, codeDeadlockDetected:
			sentinel = storage.ErrConflict
		}
		if sentinel != nil {
			return fmt.Errorf("postgres: %s: %w: %w", op, sentinel, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
