package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// outputFlag registers --output on fs and returns a function that checks
// the value and reports whether JSON was asked for.
func outputFlag(fs *flag.FlagSet) func() (bool, error) {
	v := fs.String("output", "text", "output `format`: text or json")
	return func() (bool, error) {
		switch *v {
		case "text":
			return false, nil
		case "json":
			return true, nil
		}
		return false, usagef("--output must be text or json, not %q", *v)
	}
}

// writeJSON writes v as one indented JSON value followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a tabwriter for aligned columns; write rows with
// tab-separated cells and Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one table row, cleaning every cell for the terminal.
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = clean(c)
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// clean makes s safe to print to a terminal: values with control
// characters (which could move the cursor or forge lines) are quoted.
func clean(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// orDash returns s, or "-" when it is empty (for table cells).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// yesNo renders a bool for text output.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatTime renders a time for text output (UTC, RFC 3339).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] rather
// than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonList converts every element of xs with toJSON, for printing a list
// with "--output json"; an empty list is [] rather than null.
func jsonList[T, J any](xs []T, toJSON func(T) J) []J {
	out := make([]J, 0, len(xs))
	for _, x := range xs {
		out = append(out, toJSON(x))
	}
	return out
}
