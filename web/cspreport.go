package web

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// CSP violation reports (checklist S9; CSP Level 3 §5.4 report-uri and
// report-to, Reporting API): the pages' policy names CSPReportPath, where
// browsers POST what the policy blocked. A report is untrusted input from
// anyone: it is size-limited, parsed for a few fields, and logged at Warn
// at most cspReportBurst times per cspReportWindow; the rest are counted
// in the next line that gets through. Nothing is stored.
const (
	// CSPReportPath receives violation reports.
	CSPReportPath = "/csp-report"
	// cspReportEndpoint is the Reporting-Endpoints name report-to uses.
	cspReportEndpoint   = "csp"
	cspReportMaxBytes   = 16 << 10
	cspReportBurst      = 10
	cspReportWindow     = time.Minute
	cspReportFieldLimit = 200
)

// cspReportLimiter admits cspReportBurst log lines per window and counts
// the reports it drops meanwhile.
type cspReportLimiter struct {
	mu      sync.Mutex
	start   time.Time
	logged  int
	dropped int
}

// admit reports whether a report at now may be logged, and how many were
// dropped since the last one that was.
func (l *cspReportLimiter) admit(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= cspReportWindow {
		l.start, l.logged = now, 0
	}
	if l.logged >= cspReportBurst {
		l.dropped++
		return false, 0
	}
	l.logged++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// cspViolation is what is logged of a report.
type cspViolation struct {
	Document, Blocked, Directive, Source string
}

// cspReport receives violation reports in either format browsers send:
// application/csp-report (report-uri) or application/reports+json
// (report-to). Answers: 204, 400 for a body that is not a report, 413
// when too large, 415 for another media type.
func (h *Handler) cspReport(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/csp-report" && mt != "application/reports+json" {
		http.Error(w, "expected application/csp-report or application/reports+json", http.StatusUnsupportedMediaType)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, cspReportMaxBytes)
	vs, err := parseCSPReports(json.NewDecoder(r.Body), mt == "application/reports+json")
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "report too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "not a CSP violation report", http.StatusBadRequest)
		return
	}
	for _, v := range vs {
		ok, dropped := h.cspReports.admit(h.now())
		if !ok {
			continue
		}
		attrs := []any{"event", "csp_violation", "document", clip(v.Document), "blocked", clip(v.Blocked),
			"directive", clip(v.Directive), "source", clip(v.Source)}
		if dropped > 0 {
			attrs = append(attrs, "reports_dropped_before", dropped)
		}
		h.log.WarnContext(r.Context(), "content security policy violation", attrs...)
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseCSPReports reads one report-uri report, or a Reporting API batch
// (whose entries of other types are ignored).
func parseCSPReports(d *json.Decoder, reportingAPI bool) ([]cspViolation, error) {
	if !reportingAPI {
		var legacy struct {
			Report *struct {
				Document  string `json:"document-uri"`
				Blocked   string `json:"blocked-uri"`
				Violated  string `json:"violated-directive"`
				Effective string `json:"effective-directive"`
				Source    string `json:"source-file"`
			} `json:"csp-report"`
		}
		if err := d.Decode(&legacy); err != nil {
			return nil, err
		}
		if legacy.Report == nil {
			return nil, errors.New("no csp-report member")
		}
		rep := legacy.Report
		dir := rep.Effective
		if dir == "" {
			dir = rep.Violated
		}
		return []cspViolation{{rep.Document, rep.Blocked, dir, rep.Source}}, nil
	}
	var batch []struct {
		Type string `json:"type"`
		Body struct {
			Document  string `json:"documentURL"`
			Blocked   string `json:"blockedURL"`
			Directive string `json:"effectiveDirective"`
			Source    string `json:"sourceFile"`
		} `json:"body"`
	}
	if err := d.Decode(&batch); err != nil {
		return nil, err
	}
	var out []cspViolation
	for _, e := range batch {
		if e.Type == "csp-violation" {
			out = append(out, cspViolation{e.Body.Document, e.Body.Blocked, e.Body.Directive, e.Body.Source})
		}
	}
	return out, nil
}

// clip bounds a report field for the log, on a rune boundary.
func clip(s string) string {
	if len(s) <= cspReportFieldLimit {
		return s
	}
	s = s[:cspReportFieldLimit]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
