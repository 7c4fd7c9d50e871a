package view

import (
	"context"
	"net/url"
	"strconv"
)

// CountText shows a list's size: the number with thousands separators,
// "about N" when it is an estimate from the database's statistics.
func CountText(ctx context.Context, n int64, estimated bool) string {
	s := groupDigits(n)
	if estimated {
		return msg(ctx, "admin.count.about", "N", s)
	}
	return s
}

// ListCount is the pager's line for a list's size: "N in total", or
// "about N in total" for an estimate.
func ListCount(ctx context.Context, n int64, estimated bool) string {
	if estimated {
		return msg(ctx, "admin.count.list_about", "N", groupDigits(n))
	}
	return msg(ctx, "admin.count.list", "N", groupDigits(n))
}

// groupDigits writes n with a comma between groups of three digits, as
// both English and Japanese write large numbers.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

func escapeQuery(s string) string { return url.QueryEscape(s) }
