package i18n

import (
	"time"
)

// Layouts of a date and time on the pages, per language; the zone's
// abbreviation follows, so a reader knows which clock is meant.
var timeLayouts = map[string]string{
	"en": "Jan 2, 2006 15:04 MST",
	"ja": "2006年1月2日 15:04 MST",
}

// Time formats t for the pages, in the Localizer's zone:
// "2026年12月6日 18:42 JST" in Japanese, "Dec 6, 2026 18:42 UTC" in
// English. The zero time is shown as a dash.
func (l *Localizer) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	layout, ok := timeLayouts[l.lang]
	if !ok {
		layout = timeLayouts[Default]
	}
	return t.In(l.zone).Format(layout)
}

// Duration says d in words, rounded down to whole hours or minutes
// ("5 minutes", "5分"), for texts such as "sign in within the last …".
func (l *Localizer) Duration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return l.T("time.hours", "Count", int(d/time.Hour))
	case d >= time.Minute:
		return l.T("time.minutes", "Count", int(d/time.Minute))
	}
	return l.T("time.seconds", "Count", int(d/time.Second))
}
