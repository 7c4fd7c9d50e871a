package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// defaultImportBatch is how many rows "user import" commits together.
const defaultImportBatch = 1000

// maxImportLine bounds one JSON Lines row.
const maxImportLine = 1 << 20

// importRow is one user of an import file: the fields of userJSON (the
// export's format), keyed by username. password_hash, when given, must be
// monban's argon2id or an accepted foreign hash (password.CheckImportedHash).
type importRow struct {
	line int
	u    userJSON
	set  map[string]bool // fields present in the row
}

// rowError is a rejected row: its line and why.
type rowError struct {
	line int
	msg  string
}

// userImport reads users from a JSON Lines or CSV file and creates or
// updates them by username, all-or-nothing per batch: a batch with a bad
// row is reported row by row and nothing of it is written; the other
// batches are. Imported foreign password hashes are re-hashed to argon2id
// at the person's next sign-in.
func (c *cli) userImport(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user import", "FILE [--format jsonl|csv] [--batch-size N]", false)
	format := cmd.fs.String("format", "", "`jsonl` or csv (default: by the file's extension)")
	batchSize := cmd.fs.Int("batch-size", defaultImportBatch, "rows per transaction (`N`)")
	pos, _, err := cmd.parse(args, 1)
	if err != nil {
		return err
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(pos[0])) {
		case ".csv":
			*format = "csv"
		case ".jsonl", ".ndjson", ".json":
			*format = "jsonl"
		default:
			return usagef("cannot tell the format of %q: use --format jsonl or csv", pos[0])
		}
	}
	if *format != "jsonl" && *format != "csv" {
		return usagef("--format must be jsonl or csv, not %q", *format)
	}
	if *batchSize < 1 || *batchSize > 100000 {
		return usagef("--batch-size must be from 1 to 100000")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("open %s: %w", pos[0], err)
	}
	defer f.Close()
	next := jsonlRows(f)
	if *format == "csv" {
		if next, err = csvRows(f); err != nil {
			return err
		}
	}
	progress := isTerminal(c.stderr)
	return cmd.withStore(ctx, func(st storage.Store) error {
		var (
			rejected      []rowError
			done, skipped int
			batch         []importRow
		)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			bad, refuse := validateBatch(batch)
			if refuse {
				rejected = append(rejected, bad...)
				skipped += len(batch)
			} else if err := importBatch(ctx, st, batch); err != nil {
				return err
			} else {
				done += len(batch)
			}
			batch = batch[:0]
			if progress {
				fmt.Fprintf(c.stderr, "\rimported %d, skipped %d", done, skipped)
			}
			return nil
		}
		for {
			r, perr, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if perr != nil {
				rejected = append(rejected, *perr)
				r = &importRow{line: perr.line, set: map[string]bool{"invalid": true}}
			}
			batch = append(batch, *r)
			if len(batch) == *batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if progress {
			fmt.Fprintln(c.stderr)
		}
		c.printf("Imported %d user(s); %d row(s) in batches with errors were not imported.\n", done, skipped)
		if len(rejected) == 0 {
			return nil
		}
		var errs []error
		for _, r := range rejected {
			errs = append(errs, fmt.Errorf("line %d: %s", r.line, r.msg))
		}
		return errors.Join(append(errs, fmt.Errorf("%d row(s) rejected: fix them and import the file again (rows already imported are updated, not duplicated)", len(rejected)))...)
	})
}

// validateBatch checks every row as "user add" would (userpolicy) plus
// the password hash, and duplicates within the batch. refuse is true when
// the batch must not be written: a row has a problem, reported in bad, or
// could not be read at all (reported by the reader).
func validateBatch(batch []importRow) (bad []rowError, refuse bool) {
	seen := map[string]int{}
	for _, r := range batch {
		if r.set["invalid"] {
			continue // reported by the reader
		}
		u := r.u.toUser()
		for _, fe := range userpolicy.ValidateUser(u) {
			bad = append(bad, rowError{r.line, fe.Field + ": " + fe.Message})
		}
		if r.u.PasswordHash != "" {
			if err := password.CheckImportedHash(r.u.PasswordHash); err != nil {
				bad = append(bad, rowError{r.line, "password_hash: not bcrypt, PBKDF2-SHA256 or argon2id in an accepted encoding"})
			}
		}
		if first, dup := seen[u.Username]; dup {
			bad = append(bad, rowError{r.line, fmt.Sprintf("username: %q is also on line %d", u.Username, first)})
		}
		seen[u.Username] = r.line
	}
	for _, r := range batch {
		if r.set["invalid"] {
			refuse = true
		}
	}
	return bad, refuse || len(bad) > 0
}

// importBatch writes a valid batch in one transaction: existing users
// (by username) get the row's fields, new ones are created.
func importBatch(ctx context.Context, st storage.Store, batch []importRow) error {
	err := st.Atomically(ctx, func(tx storage.Store) error {
		for _, r := range batch {
			in := r.u.toUser()
			old, err := tx.GetUserByUsername(ctx, in.Username)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				in.ID, in.CreatedAt, in.UpdatedAt = storage.NewID(), now(), now()
				if err := tx.CreateUser(ctx, in); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				_, err := tx.UpdateUser(ctx, old.ID, func(u *storage.User) error {
					r.applyTo(u, in)
					u.UpdatedAt = now()
					return nil
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return dbError(err)
	}
	return nil
}

// toUser is the user a row describes (without ID and times).
func (j userJSON) toUser() *storage.User {
	u := &storage.User{Username: j.Username, Email: j.Email, EmailVerified: j.EmailVerified, Name: j.Name,
		GivenName: j.GivenName, FamilyName: j.FamilyName, MiddleName: j.MiddleName, Nickname: j.Nickname,
		PreferredUsername: j.PreferredUsername, Profile: j.Profile, Picture: j.Picture, Website: j.Website,
		Gender: j.Gender, Birthdate: j.Birthdate, Zoneinfo: j.Zoneinfo, Locale: j.Locale,
		PhoneNumber: j.PhoneNumber, PhoneNumberVerified: j.PhoneNumberVerified,
		Attributes: storage.CloneAttributes(j.Attributes), Disabled: j.Disabled, Admin: j.Admin,
		PasswordHash: j.PasswordHash}
	if j.Address != nil {
		u.Address = *j.Address
	}
	return u
}

// applyTo copies the fields present in the row from in to the stored u:
// an import updates what the file says and keeps the rest (a password
// changed since the export stays unless the row carries a hash).
func (r importRow) applyTo(u, in *storage.User) {
	id, created := u.ID, u.CreatedAt
	keepHash, keepAttrs := u.PasswordHash, u.Attributes
	admin, disabled := u.Admin, u.Disabled
	*u = *in
	u.ID, u.CreatedAt = id, created
	if !r.set["password_hash"] {
		u.PasswordHash = keepHash
	}
	if !r.set["attributes"] {
		u.Attributes = keepAttrs
	}
	if !r.set["admin"] {
		u.Admin = admin
	}
	if !r.set["disabled"] {
		u.Disabled = disabled
	}
}

// rowReader returns the next row, a row that cannot be read (perr), or
// io.EOF.
type rowReader func() (r *importRow, perr *rowError, err error)

func jsonlRows(f io.Reader) rowReader {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), maxImportLine)
	line := 0
	return func() (*importRow, *rowError, error) {
		for sc.Scan() {
			line++
			text := strings.TrimSpace(sc.Text())
			if text == "" {
				continue
			}
			r := &importRow{line: line, set: map[string]bool{}}
			var keys map[string]json.RawMessage
			dec := json.NewDecoder(strings.NewReader(text))
			dec.DisallowUnknownFields()
			if err := json.Unmarshal([]byte(text), &keys); err != nil {
				return nil, &rowError{line, "not a JSON object"}, nil
			}
			if err := dec.Decode(&r.u); err != nil {
				return nil, &rowError{line, jsonProblem(err)}, nil
			}
			for k := range keys {
				r.set[k] = true
			}
			return r, nil, nil
		}
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line+1, err)
		}
		return nil, nil, io.EOF
	}
}

// jsonProblem words a decoding error without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: wrong type of value", te.Field)
	}
	if s, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + s
	}
	return "not a valid user object"
}

// csvRows reads CSV with a header row whose column names are the JSON
// field names (attributes as "attribute.KEY" columns, single values;
// address parts as "address.street_address" etc.).
func csvRows(f io.Reader) (rowReader, error) {
	cr := csv.NewReader(f)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read the CSV header: %w", err)
	}
	return func() (*importRow, *rowError, error) {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, nil, io.EOF
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &rowError{pe.Line, "not valid CSV"}, nil
			}
			return nil, nil, err
		}
		obj := map[string]any{}
		addr := map[string]string{}
		attrs := map[string]string{}
		for i, col := range header {
			v := rec[i]
			switch {
			case strings.HasPrefix(col, "attribute."):
				if v != "" {
					attrs[strings.TrimPrefix(col, "attribute.")] = v
				}
			case strings.HasPrefix(col, "address."):
				addr[strings.TrimPrefix(col, "address.")] = v
			case col == "email_verified" || col == "phone_number_verified" || col == "admin" || col == "disabled":
				b, err := strconv.ParseBool(cmpOr(v, "false"))
				if err != nil {
					return nil, &rowError{line, col + ": want true or false"}, nil
				}
				obj[col] = b
			default:
				obj[col] = v
			}
		}
		if len(addr) > 0 {
			obj["address"] = addr
		}
		if len(attrs) > 0 {
			obj["attributes"] = attrs
		}
		b, _ := json.Marshal(obj)
		r := &importRow{line: line, set: map[string]bool{}}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.u); err != nil {
			return nil, &rowError{line, jsonProblem(err)}, nil
		}
		for k := range obj {
			r.set[k] = true
		}
		if r.u.PasswordHash == "" {
			delete(r.set, "password_hash")
		}
		return r, nil, nil
	}, nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// userExport writes every user as JSON Lines, in username order, a page
// at a time. Password hashes only with --include-password-hashes.
func (c *cli) userExport(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user export", "[--include-password-hashes]", false)
	withHashes := cmd.fs.Bool("include-password-hashes", false, "include the password hashes (secrets: protect the file)")
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, _ bool) error {
		w := bufio.NewWriter(c.stdout)
		enc := json.NewEncoder(w)
		for after := ""; ; {
			page, err := st.ListUsersPage(ctx, storage.UserQuery{After: after, Limit: defaultImportBatch})
			if err != nil {
				return dbError(err)
			}
			for _, u := range page {
				j := toUserJSON(u)
				j.Groups = nil // memberships are not imported
				if *withHashes {
					j.PasswordHash = u.PasswordHash
				}
				if err := enc.Encode(j); err != nil {
					return err
				}
			}
			if len(page) < defaultImportBatch {
				break
			}
			after = page[len(page)-1].Username
		}
		return w.Flush()
	})
}
